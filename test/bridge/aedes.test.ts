import { startAedes } from '../helpers/aedes.js'
import { runBridgeSuite } from './bridge.case.js'

runBridgeSuite('aedes (in-process, MQTT 3.1.1)', startAedes, { mqtt5: false })
