import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jsonArray } from '../../../src/util/json-array';

describe('jsonArray', () => {
  it('gives the items of a JSON array, and says why other text is not one', () => {
    assert.deepEqual(jsonArray('[{"ifname":"lo"},1]'), [{ ifname: 'lo' }, 1]);
    assert.deepEqual(jsonArray('[]'), []);
    assert.equal(jsonArray('{"ifname":"lo"}'), 'expected a JSON array');
    assert.match(String(jsonArray('[{"priority":0,')), /^not JSON \(/);
    assert.match(String(jsonArray('')), /^not JSON \(/);
  });
});
