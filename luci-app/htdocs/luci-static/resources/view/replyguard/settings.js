'use strict';
'require view';
'require form';
'require ui';

// replyguard → Settings: edits /etc/config/replyguard. It offers only the options
// the daemon accepts (an unknown option makes it refuse the file), uses
// placeholders rather than defaults so that saving does not write values nobody
// chose, and checks values with the daemon's rules before they are saved.
// Save & Apply commits; procd's reload trigger then sends the daemon SIGHUP.

var FORWARD_NAME_RE = /^[A-Za-z0-9_]{1,32}$/;

/** Options the running daemon applies only when it restarts, not on Save & Apply's reload. */
function restartNote(description) {
	return description + ' ' + _('Applied when the service restarts (/etc/init.d/replyguard restart).');
}

function isEmpty(value) {
	return value == null || value === '';
}

function wholeNumber(min, max) {
	return function(section_id, value) {
		if (isEmpty(value))
			return true;
		if (!/^[0-9]+$/.test(value) || +value < min || +value > max)
			return _('Expecting a whole number from %d to %d').format(min, max);
		return true;
	};
}

function ipv4(value) {
	var m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(value);
	if (!m)
		return false;
	for (var i = 1; i <= 4; i++)
		if (+m[i] > 255 || (m[i].length > 1 && m[i].charAt(0) === '0'))
			return false;
	return true;
}

function ipv6(value) {
	if (!/^[0-9A-Fa-f:.]+$/.test(value) || value.indexOf(':') < 0)
		return false;
	var tail = value.lastIndexOf(':');
	var words = 8;
	if (value.indexOf('.') >= 0) {
		if (!ipv4(value.substr(tail + 1)))
			return false;
		value = value.substr(0, tail + 1) + '0:0';
	}
	var halves = value.split('::');
	if (halves.length > 2)
		return false;
	var count = function(s) { return s === '' ? [] : s.split(':'); };
	var left = count(halves[0]), right = halves.length === 2 ? count(halves[1]) : [];
	var all = left.concat(right);
	for (var i = 0; i < all.length; i++)
		if (!/^[0-9A-Fa-f]{1,4}$/.test(all[i]))
			return false;
	return halves.length === 2 ? all.length < words : all.length === words;
}

function validateAddress(section_id, value) {
	if (isEmpty(value))
		return _('Required: the server\'s IPv4 or IPv6 address');
	return ipv4(value) || ipv6(value) ? true : _('Expecting an IPv4 or IPv6 address');
}

function validatePort(required) {
	return function(section_id, value) {
		if (isEmpty(value))
			return required ? _('Required: a port from 1 to 65535') : true;
		return /^[0-9]+$/.test(value) && +value >= 1 && +value <= 65535 ? true : _('Expecting a port from 1 to 65535');
	};
}

// The daemon's rules (src/config/config-build.ts): interface names as OpenWrt makes them, and
// runtime state only in one directory under /var/run (the daemon runs as root).
var INTERFACE_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/;
var STATE_DIR_RE = /^\/(var|tmp)\/run\/[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

function validateInterface(section_id, value) {
	if (isEmpty(value))
		return true;
	return INTERFACE_RE.test(value)
		? true : _('Expecting an interface name (1-15 letters, digits, "_", "." or "-")');
}

function validatePrefix(section_id, value) {
	if (isEmpty(value))
		return true;
	var m = /^([^/]+)\/([0-9]{1,3})$/.exec(value);
	if (m && ipv4(m[1]) && +m[2] <= 32)
		return true;
	if (m && ipv6(m[1]) && +m[2] <= 128)
		return true;
	return _('Expecting a network with prefix length, e.g. 192.168.1.0/24 or fd00::/64');
}

function validatePattern(re, message) {
	return function(section_id, value) {
		return isEmpty(value) || re.test(value) ? true : message;
	};
}

return view.extend({
	render: function() {
		var m, s, o;

		m = new form.Map('replyguard', _('replyguard'),
			_('Settings of the reply-hijack detector. Save & Apply makes the running daemon re-read them; a value it cannot use is reported in the system log and the previous settings stay in force.'));
		m.tabbed = true;

		/* General (config main 'main') */
		s = m.section(form.NamedSection, 'main', 'main', _('General'));
		s.addremove = false;
		s.tab('general', _('General'));
		s.tab('probe', _('Probe'));
		s.tab('guard', _('Guard'));
		s.tab('advanced', _('Advanced'));

		o = s.taboption('general', form.DynamicList, 'lan_interfaces', _('LAN interfaces'),
			_('Bridges or interfaces whose networks count as LAN. Empty: br-lan.'));
		o.placeholder = 'br-lan';
		o.validate = validateInterface;

		o = s.taboption('general', form.DynamicList, 'lan_subnets', _('LAN networks'),
			_('Networks of the LAN, with prefix length. Empty: taken from the addresses of the LAN interfaces.'));
		o.placeholder = '192.168.1.0/24';
		o.validate = validatePrefix;

		o = s.taboption('general', form.Value, 'problem_hold', _('Problem hold time'),
			_('Seconds a hijack keeps the health at "problem" after it was last seen. Empty: 900.'));
		o.placeholder = '900';
		o.validate = wholeNumber(1, 604800);

		o = s.taboption('general', form.ListValue, 'log_level', _('Log level'),
			_('How much the daemon writes to the system log (logread -e replyguard).'));
		o.value('', _('Default (info)'));
		o.value('debug', _('Debug'));
		o.value('info', _('Info'));
		o.value('warn', _('Warnings'));
		o.value('error', _('Errors'));
		o.optional = true;

		o = s.taboption('probe', form.ListValue, 'probe', _('Passive probe'),
			restartNote(_('replyguard\'s own nftables table that counts the replies of LAN servers going in and out, to catch hijacks that leave no conntrack trace (TPROXY and TUN modes, UDP). Automatic: where nft works; on: a failing probe makes the health degraded; off: conntrack only.')));
		o.value('', _('Default (automatic)'));
		o.value('auto', _('Automatic'));
		o.value('on', _('On'));
		o.value('off', _('Off'));
		o.optional = true;

		o = s.taboption('probe', form.Value, 'probe_interval', _('Probe interval'),
			restartNote(_('Seconds between readings of the probe\'s counters. Empty: 2.')));
		o.placeholder = '2';
		o.validate = wholeNumber(1, 60);

		// guard = auto | off. Unticking removes the option: absent means off (the daemon's default).
		o = s.taboption('guard', form.Flag, 'guard', _('Keep the guard in place (guard = auto)'),
			_('When on, replyguard adds rules that exempt only the replies of the declared forwards\' servers from the transparent proxy, puts them back when the proxy restarts or the firewall reloads, and removes them when switched off. The LAN devices\' own connections are still proxied. Only forwards declared in the Forwards tab are guarded. To add the rules once instead, run "replyguard guard apply".'));
		o.enabled = 'auto';
		o.disabled = 'off';
		o.default = 'off';

		o = s.taboption('advanced', form.Value, 'state_dir', _('State directory'),
			restartNote(_('Where status.json is written. This page reads /var/run/replyguard/status.json only, so change it only for a daemon you watch by other means.')));
		o.placeholder = '/var/run/replyguard';
		o.validate = validatePattern(STATE_DIR_RE, _('Expecting /var/run/NAME (NAME of letters, digits, "_", "." or "-")'));

		o = s.taboption('advanced', form.Value, 'status_interval', _('Status interval'),
			restartNote(_('Seconds between rewrites of status.json when nothing changes. Empty: 30.')));
		o.placeholder = '30';
		o.validate = wholeNumber(1, 3600);

		o = s.taboption('advanced', form.Value, 'conntrack_buffer', _('Conntrack buffer'),
			restartNote(_('Netlink receive buffer asked of conntrack -E (-b), in bytes. conntrack-tools 1.4.7 and later (OpenWrt 23.05, 24.10) give it to another socket, so it does not help there. Empty: 4194304.')));
		o.placeholder = '4194304';
		o.validate = wholeNumber(65536, 268435456);

		o = s.taboption('advanced', form.Value, 'max_findings', _('Most findings kept'),
			restartNote(_('Empty: 256.')));
		o.placeholder = '256';
		o.validate = wholeNumber(1, 65536);

		o = s.taboption('advanced', form.Value, 'max_flows', _('Most flows tracked'),
			restartNote(_('Empty: 8192.')));
		o.placeholder = '8192';
		o.validate = wholeNumber(16, 1048576);

		/* MQTT (config mqtt 'mqtt') */
		s = m.section(form.NamedSection, 'mqtt', 'mqtt', _('MQTT'),
			_('Publishes the status to an MQTT broker, with Home Assistant discovery.'));
		s.addremove = false;

		o = s.option(form.Flag, 'enabled', _('Enable'));
		o.default = '0';
		o.rmempty = false;

		o = s.option(form.Value, 'url', _('Broker URL'),
			_('mqtt://host[:port] or mqtts://host[:port]; required when enabled. Put the user name and password in their own fields.'));
		o.placeholder = 'mqtt://192.168.1.5:1883';
		o.validate = function(section_id, value) {
			if (isEmpty(value)) {
				var enabled = this.section.formvalue(section_id, 'enabled');
				return enabled === '1' ? _('Required when MQTT is enabled') : true;
			}
			var m = /^mqtts?:\/\/([^/@:?#]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?\/?$/.exec(value);
			return m ? true : _('Expecting mqtt://host[:port] or mqtts://host[:port], without user name or password');
		};

		o = s.option(form.Value, 'username', _('User name'));
		o.validate = validatePattern(/^[^\x00-\x1f\x7f]*$/, _('Control characters are not allowed'));

		o = s.option(form.Value, 'password', _('Password'));
		o.password = true;
		o.validate = validatePattern(/^[^\x00-\x1f\x7f]*$/, _('Control characters are not allowed'));

		o = s.option(form.Value, 'ca_file', _('CA certificate file'),
			_('PEM file of the CA that signed the broker\'s certificate (mqtts://).'));
		o.placeholder = '/etc/ssl/certs/my-ca.pem';
		o.validate = validatePattern(/^\/[^\x00-\x1f\x7f]*$/, _('Expecting an absolute path'));

		o = s.option(form.Flag, 'insecure', _('Skip certificate check'),
			_('Accept any broker certificate (mqtts://). Only for testing.'));
		o.default = '0';

		o = s.option(form.Value, 'client_id', _('Client ID'));
		o.placeholder = _('chosen by the daemon');
		o.validate = validatePattern(/^[A-Za-z0-9_.-]{1,64}$/, _('Expecting 1-64 letters, digits, "_", "." or "-"'));

		o = s.option(form.Value, 'discovery_prefix', _('Discovery prefix'),
			_('Home Assistant\'s discovery prefix.'));
		o.placeholder = 'homeassistant';
		o.validate = validatePattern(/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/, _('Expecting topic levels of letters, digits, "_" or "-", separated by "/"'));

		o = s.option(form.Value, 'base_topic', _('Base topic'));
		o.placeholder = 'replyguard';
		o.validate = validatePattern(/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/, _('Expecting topic levels of letters, digits, "_" or "-", separated by "/"'));

		o = s.option(form.Value, 'node_id', _('Node ID'),
			_('This router in topics and entity IDs. Empty: the host name.'));
		o.validate = validatePattern(/^[A-Za-z0-9_-]{1,64}$/, _('Expecting 1-64 letters, digits, "_" or "-"'));

		o = s.option(form.Flag, 'retain', _('Retain state messages'));
		o.default = '1';

		/* Forwards (config forward '<name>') */
		s = m.section(form.TableSection, 'forward', _('Forwards'),
			_('The main router\'s port forwards to servers in this LAN. Each needs a name (letters, digits and "_"), which findings use.'));
		s.anonymous = false;
		s.addremove = true;
		s.addbtntitle = _('Add forward');
		s.handleAdd = function(ev, name) {
			if (!FORWARD_NAME_RE.test(name || '')) {
				ui.addNotification(null, E('p', [ _('A forward needs a name of 1-32 letters, digits or "_".') ]), 'error');
				return Promise.resolve();
			}
			if (this.map.data.get('replyguard', name) != null) {
				ui.addNotification(null, E('p', [ _('There is already a section named "%s".').format(name) ]), 'error');
				return Promise.resolve();
			}
			return form.TableSection.prototype.handleAdd.call(this, ev, name);
		};

		o = s.option(form.Flag, 'enabled', _('Enabled'));
		o.default = '1';

		o = s.option(form.Value, 'host', _('Server address'));
		o.placeholder = '192.168.1.10';
		o.rmempty = false;
		o.validate = validateAddress;

		o = s.option(form.Value, 'port', _('Server port'));
		o.placeholder = '443';
		o.rmempty = false;
		o.validate = validatePort(true);

		o = s.option(form.ListValue, 'proto', _('Protocol'));
		o.value('tcp', 'TCP');
		o.value('udp', 'UDP');
		o.default = 'tcp';

		o = s.option(form.Value, 'wan_port', _('WAN port'),
			_('The port on the main router\'s WAN side; for display.'));
		o.placeholder = _('same');
		o.validate = validatePort(false);

		return m.render();
	}
});
