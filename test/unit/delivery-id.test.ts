import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { bodyDigest, deliveryId } from '../../src/delivery/delivery-id.ts';

// Ids made before: a change of any of them would re-send every replayed event under a new id.
test('delivery ids stay the UUIDs already stored (known answers, with and without a body digest)', () => {
  const digest = bodyDigest(Buffer.from('{"event":"call.ended"}'));
  assert.equal(digest.toString('hex'), '9136585d0ff6218b02fe20e563736d78bda8ce0420289e89328ccf45e841ca83');
  assert.equal(deliveryId('evt-1', '00000000-0000-4000-8000-000000000001'), '602a8fde-e2dc-5f37-9eb7-22878cea23de');
  assert.equal(deliveryId('call-12345:ended', 'c2a4f0e1-8b7d-4c3e-9f1a-2b3c4d5e6f70', digest), '8619d7db-45eb-5f9f-b4b3-9eaf91711bdc');
  assert.equal(deliveryId('café ☎ 𝄞', 'ep'), '0eca7fa4-4103-59db-a298-700cef6aa951');
});

test('a delivery id is the RFC 9562 v5 UUID of namespace, event id and endpoint id, for ids of any length', () => {
  const namespace = Buffer.from('6f1c1f3e8d4b4b7a9a3e2f55c0d7b1a4', 'hex');
  for (const eventId of ['', 'x', 'é'.repeat(300), '☎'.repeat(2000)]) {
    const h = createHash('sha1').update(namespace).update(eventId).update('\n').update('endpoint').digest();
    h[6] = (h[6]! & 0x0f) | 0x50;
    h[8] = (h[8]! & 0x3f) | 0x80;
    const hex = h.toString('hex', 0, 16);
    const want = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    assert.equal(deliveryId(eventId, 'endpoint'), want, `event id of ${eventId.length} units`);
  }
  // After a long id grew the scratch buffer, a short one still hashes only its own bytes.
  assert.equal(deliveryId('evt-1', '00000000-0000-4000-8000-000000000001'), '602a8fde-e2dc-5f37-9eb7-22878cea23de');
});
