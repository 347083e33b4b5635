import { startAedes } from '../helpers/aedes.js'
import { runBridgeSuite } from './bridge.case.js'

runBridgeSuite('aedes (in-process)', startAedes)
