/**
 * The `data:` payloads of a server-sent event stream, in order. `onBytes` runs whenever bytes
 * arrive, so a caller can keep an idle timer alive while the server keeps sending.
 */
export async function* sseData(body: ReadableStream<Uint8Array>, onBytes: () => void): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = "";
  const reader = body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        break;
      }
      onBytes();
      buffer += decoder.decode(value, { stream: true });
      const blank = /\r?\n\r?\n/;
      for (let cut = blank.exec(buffer); cut; cut = blank.exec(buffer)) {
        const event = buffer.slice(0, cut.index);
        buffer = buffer.slice(cut.index + cut[0].length);
        const data = dataOf(event);
        if (data !== null) {
          yield data;
        }
      }
    }
    const data = dataOf(buffer + decoder.decode());
    if (data !== null) {
      yield data;
    }
  } finally {
    reader.releaseLock();
  }
}

function dataOf(event: string): string | null {
  const lines = event.split(/\r?\n/).filter((l) => l.startsWith("data:"));
  return lines.length ? lines.map((l) => l.slice(l[5] === " " ? 6 : 5)).join("\n") : null;
}
