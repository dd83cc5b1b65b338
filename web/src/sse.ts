/** One server-sent event: its name (`message` when unnamed) and its data lines joined. */
export interface SseEvent {
  event: string;
  data: string;
}

/** The events of a `text/event-stream` body, as they arrive (the format of POST /ask with stream: true). */
export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        break;
      }
      buffer += decoder.decode(value, { stream: true });
      const blank = /\r?\n\r?\n/;
      for (let cut = blank.exec(buffer); cut; cut = blank.exec(buffer)) {
        const ev = parse(buffer.slice(0, cut.index));
        buffer = buffer.slice(cut.index + cut[0].length);
        if (ev) {
          yield ev;
        }
      }
    }
    const last = parse(buffer + decoder.decode());
    if (last) {
      yield last;
    }
  } finally {
    reader.releaseLock();
  }
}

function parse(block: string): SseEvent | null {
  let event = "message";
  const data: string[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (line.startsWith("event:")) {
      event = line.slice(6).trim();
    } else if (line.startsWith("data:")) {
      data.push(line.slice(line[5] === " " ? 6 : 5));
    }
  }
  return data.length ? { event, data: data.join("\n") } : null;
}
