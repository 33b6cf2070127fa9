// The commands' exit codes besides 0, 1 and 2 (a hijack found): sysexits.h's, so that procd, scripts
// and people can tell a usage or config mistake and an unreadable input from a crash.

export const EXIT_USAGE = 64;
export const EXIT_DATAERR = 65;
export const EXIT_NOINPUT = 66;
export const EXIT_CONFIG = 78;
