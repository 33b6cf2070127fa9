// Decimal (or 0x-hex) integers from text that may be anything: undefined instead of NaN.

export function toInt(text: string | undefined): number | undefined {
  if (text === undefined || text.length === 0 || text.length > 15) return undefined;
  if (text.startsWith('0x')) return /^0x[0-9a-fA-F]{1,8}$/.test(text) ? Number.parseInt(text.slice(2), 16) : undefined;
  for (let k = 0; k < text.length; k++) {
    const c = text.charCodeAt(k);
    if (c < 48 || c > 57) return undefined;
  }
  return Number(text);
}
