import { describe, expect, it } from 'vitest'
import type { SourceMessage } from '../spool/spool.js'
import { createEnvelope, decodePayload, extendEnvelope } from './envelope.js'
import { compileExpression } from './jsonata.js'

function message(payload: string): SourceMessage {
  return { topic: 'dev/d1/t', payload: Buffer.from(payload), qos: 1, retain: false, receivedAt: 1_700_000_000_000 }
}

function envelopeOf(payload: string) {
  const msg = message(payload)
  return createEnvelope(msg, decodePayload(msg.payload), { id: 'd1' })
}

describe('envelopes', () => {
  it('list payloadBase64 with the other fields, for JSON and JSONata alike', async () => {
    const envelope = envelopeOf('{"a":1}')
    const keys = ['topic', 'params', 'payload', 'qos', 'retain', 'properties', 'receivedAt', 'payloadBase64']
    expect(Object.keys(envelope)).toEqual(keys)
    expect(JSON.parse(JSON.stringify(envelope))).toEqual({
      topic: 'dev/d1/t',
      params: { id: 'd1' },
      payload: { a: 1 },
      qos: 1,
      retain: false,
      properties: {},
      receivedAt: 1_700_000_000_000,
      payloadBase64: Buffer.from('{"a":1}').toString('base64'),
    })
    expect(Array.from((await compileExpression('$keys($)').evaluate(envelope)) as string[])).toEqual(keys)
    expect(await compileExpression('payloadBase64').evaluate(envelope)).toBe('eyJhIjoxfQ==')
  })

  it('share one getter for payloadBase64 (one shape for every envelope), extended ones too', () => {
    const getter = (o: object) => Object.getOwnPropertyDescriptor(o, 'payloadBase64')?.get
    const a = envelopeOf('one')
    const b = envelopeOf('two')
    expect(getter(a)).toBeTypeOf('function')
    expect(getter(a)).toBe(getter(b))
    const extended = extendEnvelope(a, { result: 1 })
    expect(getter(extended)).toBe(getter(a))
    expect([a.payloadBase64, b.payloadBase64, extended.payloadBase64]).toEqual(['b25l', 'dHdv', 'b25l'])
    expect(Object.keys(extended)).toEqual([...Object.keys(a), 'result'])
  })
})
