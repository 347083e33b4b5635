import { startMosquitto } from '../helpers/mosquitto.js'
import { runBridgeSuite } from './bridge.case.js'

runBridgeSuite('mosquitto (a process of its own, MQTT 5)', () => startMosquitto(), { mqtt5: true })
