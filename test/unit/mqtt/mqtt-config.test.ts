// The [mqtt] section: every option, its defaults, and messages that name the
// problem without ever showing the password.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigProblems } from '../../../src/config/config-build';
import { parseConfigText } from '../../../src/config/config-text';
import { brokerLabel, mqttSettings, mqttSettingsChanged, statusNodeId } from '../../../src/mqtt/mqtt-settings';
import { describeMqttError } from '../../../src/outputs/mqtt-connection';

const UCI = '/etc/config/replyguard';
const INI = '/etc/replyguard.ini';

function mqttOf(text: string, file = INI) {
  return parseConfigText(text, file).mqtt;
}

function problemsOf(text: string, file = INI): string {
  try {
    parseConfigText(text, file);
  } catch (err) {
    assert.ok(err instanceof ConfigProblems, String(err));
    return err.message;
  }
  assert.fail('expected config problems');
}

describe('[mqtt] options', () => {
  it('reads every option (INI and UCI alike)', () => {
    const ini = `[mqtt]
enabled = 1
url = mqtts://broker.lan:8883
username = ha
password = "s3cret; with # chars"
ca_file = /etc/ssl/ca.pem
insecure = 0
client_id = rg-side
discovery_prefix = homeassistant
base_topic = home/replyguard
node_id = side_router
retain = no
`;
    const want = {
      enabled: true,
      url: 'mqtts://broker.lan:8883',
      username: 'ha',
      password: 's3cret; with # chars',
      caFile: '/etc/ssl/ca.pem',
      insecure: false,
      clientId: 'rg-side',
      discoveryPrefix: 'homeassistant',
      baseTopic: 'home/replyguard',
      nodeId: 'side_router',
      retain: false,
    };
    assert.deepEqual(mqttOf(ini), want);
    const uci = `config mqtt 'mqtt'
\toption enabled '1'
\toption url 'mqtts://broker.lan:8883'
\toption username 'ha'
\toption password 's3cret; with # chars'
\toption ca_file '/etc/ssl/ca.pem'
\toption insecure '0'
\toption client_id 'rg-side'
\toption discovery_prefix 'homeassistant'
\toption base_topic 'home/replyguard'
\toption node_id 'side_router'
\toption retain 'no'
`;
    assert.deepEqual(mqttOf(uci, UCI), want);
  });

  it('fills the defaults: stable client id, homeassistant prefix, host name as node id, retain', () => {
    const s = mqttSettings(mqttOf('[mqtt]\nenabled = 1\nurl = mqtt://127.0.0.1'), 'OpenWrt');
    assert.deepEqual(s, {
      url: 'mqtt://127.0.0.1',
      insecure: false,
      clientId: 'replyguard_OpenWrt',
      discoveryPrefix: 'homeassistant',
      baseTopic: 'replyguard',
      nodeId: 'OpenWrt',
      retain: true,
    });
    assert.equal(statusNodeId(mqttOf('[mqtt]\nnode_id = x1'), 'OpenWrt'), 'x1');
    assert.equal(statusNodeId(mqttOf('[mqtt]'), 'OpenWrt'), 'OpenWrt');
  });

  it('needs a url when enabled', () => {
    assert.match(problemsOf('[mqtt]\nenabled = 1'), /section 'mqtt', option 'url': missing/);
    assert.match(problemsOf('[mqtt]\nenabled = 1\nurl ='), /option 'url': missing/);
    assert.equal(mqttOf('[mqtt]\nenabled = 0').enabled, false);
  });

  it('rejects bad values, all at once, with the key named', () => {
    const msg = problemsOf(`[mqtt]
enabled = 1
url = ws://broker:9001
ca_file = relative.pem
insecure = maybe
client_id = has space
discovery_prefix = home/#
base_topic = /leading
node_id = a.b
retain = 2
`);
    for (const key of [
      'url',
      'ca_file',
      'insecure',
      'client_id',
      'discovery_prefix',
      'base_topic',
      'node_id',
      'retain',
    ]) {
      assert.match(msg, new RegExp(`option '${key}'`), key);
    }
    assert.match(msg, /not an MQTT broker URL/);
  });

  it('never shows the password, not even in its own problem', () => {
    const msg = problemsOf('[mqtt]\nurl = mqtt://u:hunter2@h\npassword = "bad\\u0001hunter2"');
    assert.doesNotMatch(msg, /hunter2/);
    assert.match(msg, /option 'password': the password contains control characters/);
    assert.match(msg, /option 'url': put the user name and password in 'username' and 'password'/);
  });

  it('suggests the closest option for a typo', () => {
    assert.match(problemsOf('[mqtt]\nbase_topc = x'), /did you mean 'base_topic'\?/);
  });

  it('names the settings that change only on restart', () => {
    assert.deepEqual(
      mqttSettingsChanged(mqttOf('[mqtt]\nurl = mqtt://a'), mqttOf('[mqtt]\nurl = mqtt://b\nretain = 0')),
      ['url', 'retain'],
    );
    assert.equal(brokerLabel('mqtts://user@h:8883/x'), 'mqtts://h:8883');
  });
});

describe('MQTT error messages', () => {
  it('tells a refused login, an untrusted certificate and an unreachable broker apart', () => {
    const login = describeMqttError(
      Object.assign(new Error('Connection refused: Bad username or password'), { code: 4 }),
      'b',
    );
    assert.equal(login.fatal, true);
    assert.match(login.text, /refused the login \(Bad username or password\): check 'username' and 'password'/);
    const cert = describeMqttError(Object.assign(new Error('self-signed'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' }), 'b');
    assert.equal(cert.fatal, true);
    assert.match(cert.text, /not trusted .*ca_file/);
    const down = describeMqttError(
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
      'b',
    );
    assert.equal(down.fatal, false);
    assert.match(down.text, /cannot connect to b: connect ECONNREFUSED/);
  });
});
