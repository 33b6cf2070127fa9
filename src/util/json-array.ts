// The top-level JSON array a tool prints (`ip -j …`, `tc -j …`).

/** The array's items, or why the text is not a JSON array. */
export function jsonArray(text: string): unknown[] | string {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    return `not JSON (${(err as Error).message})`;
  }
  return Array.isArray(data) ? data : 'expected a JSON array';
}
