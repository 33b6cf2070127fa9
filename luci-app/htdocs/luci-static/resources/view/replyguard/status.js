'use strict';
'require view';
'require fs';
'require poll';
'require ui';
'require rpc';

// replyguard → Status. Shows what the daemon wrote to its status file and
// nothing else: every verdict, fix and sensor state comes from status.json.
// The file is polled, so the page follows the daemon without a reload.

var STATUS_FILE = '/var/run/replyguard/status.json';
var INIT_SCRIPT = '/etc/init.d/replyguard';
/** Adds the guard once (the Settings page's "Keep the guard in place" keeps it). */
var GUARD_APPLY = 'replyguard guard apply';
var POLL_SECONDS = 5;
/** Older than this, the status file is stale: the daemon rewrites it at least every status_interval (max 3600 s). */
var STALE_SECONDS = 3700;

var callServiceList = rpc.declare({
	object: 'service',
	method: 'list',
	params: [ 'name' ],
	expect: { '': {} }
});

function readStatus() {
	return L.resolveDefault(fs.read(STATUS_FILE), null).then(function(text) {
		if (text == null || text === '')
			return null;
		try {
			return JSON.parse(text);
		}
		catch (e) {
			return { parse_error: String(e) };
		}
	});
}

/** true/false: procd runs the daemon or not; null: unknown (no permission, no procd). */
function readRunning() {
	return L.resolveDefault(callServiceList('replyguard'), null).then(function(res) {
		if (res == null || typeof res !== 'object')
			return null;
		var svc = res.replyguard;
		if (svc == null || svc.instances == null)
			return false;
		for (var name in svc.instances)
			if (svc.instances[name] && svc.instances[name].running)
				return true;
		return false;
	});
}

function pad2(n) {
	return (n < 10 ? '0' : '') + n;
}

function formatTime(iso) {
	var d = iso ? new Date(iso) : null;
	if (d == null || isNaN(d.getTime()))
		return iso ? String(iso) : '-';
	return d.getFullYear() + '-' + pad2(d.getMonth() + 1) + '-' + pad2(d.getDate()) + ' ' +
		pad2(d.getHours()) + ':' + pad2(d.getMinutes()) + ':' + pad2(d.getSeconds());
}

function secondsSince(iso, now) {
	var t = iso ? new Date(iso).getTime() : NaN;
	return isNaN(t) ? null : Math.max(0, Math.round((now - t) / 1000));
}

function formatAge(seconds) {
	if (seconds == null)
		return '';
	if (seconds < 60)
		return _('%d s ago').format(seconds);
	if (seconds < 3600)
		return _('%d min ago').format(Math.floor(seconds / 60));
	if (seconds < 86400)
		return _('%d h ago').format(Math.floor(seconds / 3600));
	return _('%d d ago').format(Math.floor(seconds / 86400));
}

function timeWithAge(iso, now) {
	var age = formatAge(secondsSince(iso, now));
	return formatTime(iso) + (age ? ' (' + age + ')' : '');
}

/** A time to come: "2026-11-25 03:10:00 (in 40 s)". */
function timeWithWait(iso, now) {
	var t = iso ? new Date(iso).getTime() : NaN;
	if (isNaN(t))
		return formatTime(iso);
	var s = Math.max(0, Math.round((t - now) / 1000));
	var wait = s < 60 ? _('in %d s').format(s) : s < 3600 ? _('in %d min').format(Math.ceil(s / 60)) : _('in %d h').format(Math.ceil(s / 3600));
	return formatTime(iso) + ' (' + wait + ')';
}

function healthLabel(health) {
	switch (health) {
	case 'ok': return _('OK');
	case 'degraded': return _('Degraded');
	case 'problem': return _('Problem');
	default: return health ? String(health) : _('Unknown');
	}
}

function forwardStateLabel(state) {
	switch (state) {
	case 'ok': return _('OK');
	case 'hijacked': return _('Replies hijacked');
	case 'at_risk': return _('At risk: replies would be swallowed');
	case 'unknown': return _('No replies seen yet');
	default: return state ? String(state) : _('Unknown');
	}
}

function sensorStateLabel(state) {
	switch (state) {
	case 'running': return _('running');
	case 'off': return _('off');
	case 'installing': return _('installing');
	case 'starting': return _('starting');
	case 'restarting': return _('restarting');
	case 'failed': return _('failed');
	case 'stopped': return _('stopped');
	case 'disabled': return _('disabled');
	case 'connecting': return _('connecting');
	case 'connected': return _('connected');
	case 'reconnecting': return _('reconnecting');
	default: return state ? String(state) : _('Unknown');
	}
}

function guardModeLabel(mode) {
	switch (mode) {
	case 'auto': return _('Automatic: replyguard keeps it in place');
	case 'off': return _('Off: only on command');
	default: return mode ? String(mode) : _('Unknown');
	}
}

function guardStateLabel(state) {
	switch (state) {
	case 'in_place': return _('In place and effective');
	case 'missing': return _('Not in place: replies are swallowed');
	case 'ineffective': return _('In place but not effective: replies are still swallowed');
	case 'not_needed': return _('Not needed: no reply would be swallowed');
	case 'no_forwards': return _('No forwards declared');
	case 'unknown': return _('Not read yet');
	default: return state ? String(state) : _('Unknown');
	}
}

function guardStateKind(state) {
	switch (state) {
	case 'in_place': return 'ok';
	case 'missing':
	case 'ineffective': return 'bad';
	default: return 'neutral';
	}
}

/** Fix lines as status.json gives them: a list of strings (or, defensively, one string). */
function lines(value) {
	if (typeof value === 'string')
		return value !== '' ? [ value ] : [];
	if (!Array.isArray(value))
		return [];
	return value.filter(function(l) { return l != null && l !== ''; }).map(String);
}

function badge(text, kind) {
	return E('span', { 'class': 'rg-badge rg-' + kind }, [ text ]);
}

function stateKind(state) {
	if (state === 'running' || state === 'connected' || state === 'ok')
		return 'ok';
	if (state === 'failed' || state === 'hijacked' || state === 'problem')
		return 'bad';
	if (state === 'disabled' || state === 'off' || state === 'unknown' || state == null)
		return 'neutral';
	return 'warn';
}

/** Copies text: the Clipboard API where the page is a secure context, else a hidden textarea. */
function copyText(text) {
	if (navigator.clipboard && window.isSecureContext)
		return navigator.clipboard.writeText(text);
	return new Promise(function(resolve, reject) {
		var ta = E('textarea', { 'style': 'position:fixed;top:0;left:0;opacity:0' }, [ text ]);
		document.body.appendChild(ta);
		ta.select();
		var ok = false;
		try {
			ok = document.execCommand('copy');
		}
		catch (e) {
			ok = false;
		}
		document.body.removeChild(ta);
		if (ok)
			resolve();
		else
			reject(new Error('copy failed'));
	});
}

function copyButton(text, label) {
	return E('button', {
		'class': 'cbi-button cbi-button-neutral rg-copy',
		'data-copy': text,
		'title': _('Copy to clipboard'),
		'click': function(ev) {
			var btn = ev.currentTarget;
			return copyText(text).then(function() {
				btn.textContent = _('Copied');
				window.setTimeout(function() { btn.textContent = label; }, 1500);
			}, function() {
				ui.addNotification(null, E('p', [ _('Could not copy; select the text and copy it by hand.') ]), 'warning');
			});
		}
	}, [ label ]);
}

/** A value of a field later daemon versions add, whose exact shape this page does not assume. */
function describe(value) {
	if (value == null)
		return '';
	if (typeof value !== 'object')
		return String(value);
	if (Array.isArray(value))
		return value.map(describe).join(', ');
	var keys = [ 'text', 'summary', 'rule', 'name', 'description' ];
	for (var i = 0; i < keys.length; i++)
		if (typeof value[keys[i]] === 'string' && value[keys[i]] !== '')
			return value[keys[i]];
	var parts = [];
	for (var k in value)
		if (value[k] != null && typeof value[k] !== 'object')
			parts.push(k + ': ' + value[k]);
	return parts.join(', ');
}

function keyValueTable(rows) {
	return E('table', { 'class': 'table rg-kv' }, rows.filter(function(r) {
		return r[1] != null && r[1] !== '';
	}).map(function(r) {
		return E('tr', { 'class': 'tr' }, [
			E('td', { 'class': 'td left', 'style': 'width:12em' }, [ r[0] ]),
			E('td', { 'class': 'td left' }, [ r[1] ])
		]);
	}));
}

function table(head, rows, emptyText) {
	var t = E('table', { 'class': 'table' }, [
		E('tr', { 'class': 'tr table-titles' }, head.map(function(h) {
			return E('th', { 'class': 'th left' }, [ h ]);
		}))
	]);
	if (rows.length === 0)
		t.appendChild(E('tr', { 'class': 'tr placeholder' }, [
			E('td', { 'class': 'td', 'colspan': String(head.length) }, [ E('em', [ emptyText ]) ])
		]));
	rows.forEach(function(cells) {
		t.appendChild(E('tr', { 'class': 'tr' }, cells.map(function(c) {
			return E('td', { 'class': 'td left' }, [ c ]);
		})));
	});
	return t;
}

function section(id, title, children) {
	return E('div', { 'class': 'cbi-section', 'id': id }, [ E('h3', [ title ]) ].concat(children));
}

return view.extend({
	load: function() {
		return Promise.all([ readStatus(), readRunning() ]);
	},

	renderBanner: function(st, running, now) {
		var kind, title, text, extra = [];

		if (st == null) {
			kind = 'warning';
			title = _('No status yet');
			text = running === true
				? _('replyguard is running but has not written %s yet.').format(STATUS_FILE)
				: _('replyguard is not running, or has not written %s yet. Start it with "/etc/init.d/replyguard start" and look at "logread -e replyguard".').format(STATUS_FILE);
		}
		else if (st.parse_error) {
			kind = 'warning';
			title = _('Unreadable status');
			text = _('The status file could not be parsed: %s').format(st.parse_error);
		}
		else {
			var active = (st.findings || []).filter(function(f) {
				return f.kind === 'reply_hijacked' && f.state === 'active';
			});
			kind = st.health === 'ok' ? 'success' : st.health === 'problem' ? 'danger' : 'warning';
			title = _('Health: %s').format(healthLabel(st.health));
			if (st.health === 'problem' && active.length > 0)
				text = _('Replies of %s are being hijacked by this router: outside clients cannot connect.').format(active.map(function(f) {
					return f.forward ? f.server + ' (' + f.forward + ')' : f.server;
				}).join(', '));
			else if (st.health === 'ok')
				text = _('No hijacked replies seen.');
			else
				text = st.headline || '';

			var age = secondsSince(st.updated_at, now);
			extra.push(E('div', { 'class': 'rg-meta' }, [
				_('replyguard %s on %s, status updated %s').format(st.version || '?', st.node_id || '?', timeWithAge(st.updated_at, now))
			]));
			if (running === false)
				extra.push(E('div', { 'class': 'rg-meta' }, [ E('strong', [ _('The service is not running: this status is old.') ]) ]));
			else if (age != null && age > STALE_SECONDS)
				extra.push(E('div', { 'class': 'rg-meta' }, [ E('strong', [ _('The status file is stale: is the daemon still running?') ]) ]));
		}

		return E('div', { 'class': 'alert-message ' + kind + ' rg-banner', 'id': 'rg-banner', 'data-health': st && st.health || 'none' }, [
			E('h4', [ title ]),
			E('p', { 'class': 'rg-headline' }, [ text ])
		].concat(extra));
	},

	/**
	 * The fixes in the order the daemon gives them (`typed_fixes`, the order of `replyguard status`): those
	 * the ruleset made for the proxy's own chain or settings marked as the proxy's. Older daemons: the
	 * proxy's own fix (proxy_fix) first, then `fixes` (the same order, the generic lines the ruleset made
	 * redundant left out) or the detector's generic `fix`.
	 */
	renderFix: function(f) {
		var items;
		if (Array.isArray(f.typed_fixes)) {
			items = f.typed_fixes.filter(function(x) { return x != null && typeof x.text === 'string' && x.text !== ''; }).map(function(x) {
				return { text: x.text, kind: String(x.kind || ''), cls: x.basis === 'ruleset' && x.proxy && x.proxy !== 'none' ? 'rg-fix-proxy' : 'rg-fix-generic' };
			});
		}
		else {
			var proxyFix = lines(f.proxy_fix);
			var generic = f.fixes != null
				? lines(f.fixes).filter(function(l) { return proxyFix.indexOf(l) < 0; })
				: lines(f.fix);
			var as = function(cls) { return function(l) { return { text: l, kind: '', cls: cls }; }; };
			items = proxyFix.map(as('rg-fix-proxy')).concat(generic.map(as('rg-fix-generic')));
		}
		if (items.length === 0)
			return E([]);
		var all = items.map(function(x) { return x.text; });
		return E('div', { 'class': 'rg-fix' }, [
			E('h5', [ lines(f.proxy_fix).length
				? _('What to change (first the fixes for %s)').format(f.proxy ? describe(f.proxy) : _('this proxy'))
				: _('What to change') ]),
			E('ol', {}, items.map(function(x) {
				return E('li', { 'class': x.cls, 'data-kind': x.kind }, [ E('pre', { 'class': 'rg-fix-line' }, [ x.text ]), copyButton(x.text, _('Copy')) ]);
			})),
			copyButton(all.join('\n'), _('Copy all'))
		]);
	},

	renderFinding: function(f, now) {
		var rule = f.rule != null ? describe(f.rule) : '';
		var problem = f.kind === 'reply_hijacked';
		var proto = String(f.proto || '').toUpperCase();
		var head = (problem ? (f.state === 'active' ? _('BROKEN') : _('Resolved')) : _('Note')) + ': ' +
			(f.forward ? _('%s %s (forward \'%s\')').format(proto, f.server, f.forward) : proto + ' ' + f.server);

		return E('div', {
			'class': 'rg-finding rg-' + (problem && f.state === 'active' ? 'bad' : 'neutral'),
			'data-finding': f.id,
			'data-server': f.server
		}, [
			E('h4', { 'class': 'rg-finding-title' }, [ head ]),
			E('p', { 'class': 'rg-summary' }, [ f.summary || '' ]),
			keyValueTable([
				[ _('Server'), f.server ],
				[ _('Forward'), f.forward || '' ],
				[ _('Peers'), (f.peers || []).join(', ') ],
				[ _('Since'), timeWithAge(f.first_seen, now) ],
				[ _('Last seen'), timeWithAge(f.last_seen, now) ],
				[ _('Count'), f.count != null ? String(f.count) : '' ],
				[ _('Replies went to'), f.diverted_to || '' ],
				[ _('Proxy'), describe(f.proxy) || f.proxy_hint || '' ],
				[ _('Responsible rule'), rule ? E('code', { 'class': 'rg-rule' }, [ rule ]) : '' ]
			]),
			this.renderFix(f),
			(f.evidence || []).length ? E('details', { 'class': 'rg-evidence' }, [
				E('summary', [ _('Evidence') ]),
				E('pre', {}, [ f.evidence.join('\n') ])
			]) : E([])
		]);
	},

	renderFindings: function(st, now) {
		var findings = (st.findings || []).slice();
		var rank = function(f) {
			return (f.kind === 'reply_hijacked' ? 0 : 2) + (f.state === 'active' ? 0 : 1);
		};
		findings.sort(function(a, b) {
			return rank(a) - rank(b) || String(b.last_seen).localeCompare(String(a.last_seen));
		});
		var open = findings.filter(function(f) { return f.state === 'active'; });
		var closed = findings.filter(function(f) { return f.state !== 'active'; });
		var self = this;

		return section('rg-findings', _('Open findings'), [
			open.length ? E('div', {}, open.map(function(f) { return self.renderFinding(f, now); }))
				: E('p', {}, [ E('em', [ _('No open findings.') ]) ]),
			closed.length ? E('details', { 'class': 'rg-closed' }, [
				E('summary', [ _('Resolved findings (%d)').format(closed.length) ])
			].concat(closed.map(function(f) { return self.renderFinding(f, now); }))) : E([])
		]);
	},

	renderForwards: function(st) {
		return section('rg-forwards', _('Forwards'), [
			table([ _('Name'), _('Server'), _('Protocol'), _('WAN port'), _('State') ],
				(st.forwards || []).map(function(fw) {
					return [
						fw.name,
						fw.host + ':' + fw.port,
						String(fw.proto || '').toUpperCase(),
						fw.wan_port != null ? String(fw.wan_port) : '-',
						badge(forwardStateLabel(fw.status), stateKind(fw.status))
					];
				}),
				_('No forwards configured: add the main router\'s port forwards under Settings so findings name them.'))
		]);
	},

	/** The guard (status.json's `guard`, absent in files of older daemons: then no section). */
	renderGuard: function(st, now) {
		var g = st.guard;
		if (g == null || typeof g !== 'object')
			return E([]);
		var hint = E([]);
		if (g.state === 'missing' && g.mode === 'off')
			hint = E('div', { 'class': 'rg-hint', 'id': 'rg-guard-hint' }, [
				E('p', [ _('Turn on "Keep the guard in place" in Settings → General → Guard, or add the guard rules once with:') ]),
				E('pre', { 'class': 'rg-fix-line' }, [ GUARD_APPLY ]),
				copyButton(GUARD_APPLY, _('Copy'))
			]);
		return section('rg-guard', _('Guard'), [
			keyValueTable([
				[ _('Mode'), guardModeLabel(g.mode) ],
				[ _('State'), badge(guardStateLabel(g.state), guardStateKind(g.state)) ],
				[ _('Details'), g.summary || '' ],
				[ _('Guard rules'), g.rules != null ? String(g.rules) : '' ],
				[ _('Times applied'), g.applies != null ? String(g.applies) : '' ],
				[ _('Last applied'), g.last_apply ? timeWithAge(g.last_apply, now) : _('never') ],
				[ _('Last error'), g.last_error ? E('span', { 'class': 'rg-error' }, [ String(g.last_error) ]) : '' ],
				[ _('Next attempt'), g.retry_at ? timeWithWait(g.retry_at, now) : '' ]
			]),
			hint
		]);
	},

	renderProxy: function(st) {
		if (st.proxy == null)
			return E([]);
		var rows = [];
		if (typeof st.proxy !== 'object')
			rows.push([ _('Proxy'), String(st.proxy) ]);
		else
			for (var k in st.proxy)
				if (st.proxy[k] != null && st.proxy[k] !== '')
					rows.push([ k, describe(st.proxy[k]) ]);
		return section('rg-proxy', _('Proxy detected'), [ keyValueTable(rows) ]);
	},

	/* One row per part of status.json's sensors or outputs: its state, and its other fields as details. */
	partRows: function(parts, names, order) {
		order = order.slice();
		for (var k in parts)
			if (order.indexOf(k) < 0)
				order.push(k);
		return order.filter(function(k) { return parts[k] != null; }).map(function(k) {
			var s = parts[k];
			var details = [];
			for (var f in s)
				if (f !== 'state' && s[f] != null && s[f] !== '' && typeof s[f] !== 'object')
					details.push(f + ': ' + s[f]);
			/* Programs that take packets before netfilter: what they take, no sensor here sees. */
			var hooks = Array.isArray(s.hooks) ? s.hooks : [];
			hooks.forEach(function(h) {
				details.push((h.proxy ? h.proxy + ': ' : '') + h.program +
					(h.interface ? ' @ ' + h.interface : '') +
					(h.process ? ' (' + h.process.name + ', pid ' + h.process.pid + ')' : ''));
			});
			if (hooks.some(function(h) { return h.blind; }))
				return [ names[k] || k, badge(_('blind spot'), 'warn'), details.join(', ') ];
			return [ names[k] || k, badge(sensorStateLabel(s.state), stateKind(s.state)), details.join(', ') ];
		});
	},

	renderSensors: function(st) {
		var sensors = st.sensors || {};
		var names = { conntrack: _('Conntrack events'), probe: _('Probe'), addresses: _('Router addresses'), ebpf: _('eBPF before netfilter') };
		var rows = this.partRows(sensors, names, [ 'conntrack', 'probe', 'addresses', 'ebpf' ]);
		/* The second conntrack child: only lifetimes of hijacked entries rest on it. */
		var d = sensors.conntrack && sensors.conntrack.destroy;
		if (d != null && typeof d === 'object')
			rows.splice(1, 0, [ _('Conntrack DESTROY events'), badge(sensorStateLabel(d.state), stateKind(d.state)),
				'events: ' + d.events + ', lost: ' + d.lost + ', restarts: ' + d.restarts ]);
		return section('rg-sensors', _('Sensors'), [ table([ _('Sensor'), _('State'), _('Details') ], rows, '-') ]);
	},

	/* Where the status is shown besides this page (MQTT / Home Assistant); detection never depends on them. */
	renderOutputs: function(st) {
		var rows = this.partRows(st.outputs || {}, { mqtt: _('MQTT') }, [ 'mqtt' ]);
		if (!rows.length)
			return E([]);
		return section('rg-outputs', _('Outputs'), [ table([ _('Output'), _('State'), _('Details') ], rows, '-') ]);
	},

	renderTimeline: function(st, now) {
		if (!Array.isArray(st.timeline))
			return E([]);
		var rows = st.timeline.slice().reverse().slice(0, 50).map(function(ev) {
			var at = ev.at || ev.time || ev.ts || ev.timestamp;
			return [ timeWithAge(at, now), ev.kind || ev.type || '', ev.text || ev.summary || ev.message || describe(ev) ];
		});
		return section('rg-timeline', _('Changes'), [ table([ _('Time'), _('Event'), _('Details') ], rows, _('Nothing has changed yet.')) ]);
	},

	renderLan: function(st) {
		var lan = st.lan || {};
		return section('rg-lan', _('LAN'), [ keyValueTable([
			[ _('Interfaces'), (lan.interfaces || []).join(', ') ],
			[ _('Networks'), (lan.subnets || []).join(', ') + (lan.source ? ' (' + lan.source + ')' : '') ],
			[ _('Router addresses'), (lan.router_addresses || []).join(', ') ]
		]) ]);
	},

	renderBody: function(st, running) {
		var now = Date.now();
		var parts = [ this.renderBanner(st, running, now) ];
		if (st != null && !st.parse_error)
			parts.push(
				this.renderFindings(st, now),
				this.renderForwards(st),
				this.renderGuard(st, now),
				this.renderProxy(st),
				this.renderSensors(st),
				this.renderOutputs(st),
				this.renderTimeline(st, now),
				this.renderLan(st)
			);
		return E('div', { 'id': 'rg-body' }, parts);
	},

	handleRecheck: function(ev) {
		var self = this;
		return fs.exec(INIT_SCRIPT, [ 'recheck' ]).then(function(res) {
			if (res && res.code)
				ui.addNotification(null, E('p', [ _('Re-check failed: %s').format(res.stderr || res.code) ]), 'error');
			return self.refresh();
		}).catch(function(err) {
			ui.addNotification(null, E('p', [ _('Re-check failed: %s').format(err && err.message || err) ]), 'error');
		});
	},

	refresh: function() {
		var self = this;
		return Promise.all([ readStatus(), readRunning() ]).then(function(data) {
			var body = document.getElementById('rg-body');
			if (body)
				body.parentNode.replaceChild(self.renderBody(data[0], data[1]), body);
		});
	},

	render: function(data) {
		var self = this;
		var node = E('div', { 'class': 'rg-status' }, [
			E('style', {}, [
				'.rg-badge{display:inline-block;padding:0 .5em;border-radius:3px;font-weight:bold}' +
				'.rg-ok{background:#dff0d8;color:#2b542c}.rg-bad{background:#f2dede;color:#a94442}' +
				'.rg-warn{background:#fcf8e3;color:#8a6d3b}.rg-neutral{background:#eee;color:#555}' +
				'.rg-finding{border-left:4px solid #ccc;padding:.25em .75em;margin:.75em 0}' +
				'div.rg-finding.rg-bad,div.rg-finding.rg-neutral{background:none;color:inherit}div.rg-finding.rg-bad{border-left-color:#a94442}' +
				'div.rg-finding.rg-bad .rg-finding-title{color:#a94442}' +
				'.rg-fix-line{display:inline-block;margin:0 .5em 0 0;white-space:pre-wrap;vertical-align:middle}' +
				'.rg-fix li{margin:.25em 0}.rg-meta{font-size:90%;margin-top:.25em}' +
				'.rg-error{color:#a94442;font-weight:bold}.rg-hint{border-left:4px solid #8a6d3b;padding:.25em .75em;margin:.75em 0}'
			]),
			E('h2', [ _('replyguard') ]),
			E('div', { 'class': 'cbi-map-descr' }, [
				_('Watches whether this side router swallows the replies of LAN servers that the main router forwards to, e.g. because a transparent proxy redirects them.')
			]),
			E('div', { 'class': 'right' }, [
				E('button', {
					'class': 'cbi-button cbi-button-action',
					'id': 'rg-recheck',
					'title': _('Makes the daemon read the connection tracking table again and rewrite its status (runs "/etc/init.d/replyguard recheck").'),
					'click': ui.createHandlerFn(this, 'handleRecheck')
				}, [ _('Re-check now') ])
			]),
			this.renderBody(data[0], data[1])
		]);

		poll.add(function() {
			return self.refresh();
		}, POLL_SECONDS);

		return node;
	},

	handleSave: null,
	handleSaveApply: null,
	handleReset: null
});
