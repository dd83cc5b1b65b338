/**
 * An `embed` that remembers what it embedded, for the life of one request: the verifier and the
 * quality metrics of one answer ask for many of the same texts (the answer's claims, the source
 * sentences closest to them), and with USE-Lite on a CPU every text saved is about 20 ms.
 * Only texts not seen before reach `embed`, in one call.
 * @example
 *   const embed = memoizeEmbed((texts) => embedder.embed(texts));
 */
export function memoizeEmbed(
  embed: (texts: string[]) => Promise<number[][]>,
): (texts: string[]) => Promise<number[][]> {
  const seen = new Map<string, number[]>();
  return async (texts) => {
    const fresh = [...new Set(texts.filter((t) => !seen.has(t)))];
    if (fresh.length) {
      const vectors = await embed(fresh);
      fresh.forEach((t, i) => {
        seen.set(t, vectors[i]!);
      });
    }
    return texts.map((t) => seen.get(t)!);
  };
}
