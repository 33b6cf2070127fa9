// The proxies replyguard knows by name, as status.json, fixes and the proxy modules spell them.

export type ProxyName = 'openclash' | 'passwall' | 'passwall2' | 'homeproxy' | 'nikki' | 'shellcrash' | 'unknown';
