// Commands printed for people to copy into a shell (fix lines, `guard plan`):
// any word that is not plainly safe is single-quoted, so a name taken from the
// ruleset (a chain called `x$(touch /tmp/x)`) stays one literal word.

const SAFE = /^[A-Za-z0-9_.:/@%+=,!-]+$/;

export function shellWord(word: string): string {
  if (SAFE.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
