import { runMatcherSuite } from './matcher.case.js'
import { createReferenceMatcher } from './reference-matcher.js'

runMatcherSuite('reference matcher', createReferenceMatcher)
