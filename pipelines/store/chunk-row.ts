import type { ChunkHit } from "./types.js";

/** A chunk's citation fields as SQL returns them (snake case; PGlite and `pg` type some columns differently). */
export interface ChunkRow {
  chunk_id: string;
  document_id: string;
  source_id: string;
  path: string;
  collection: string;
  ordinal: number;
  text: string;
  page: number | null;
  heading_path: string[] | string;
  token_count: number;
}

/** jsonb arrives parsed from one driver and as text from the other. */
export function headingPathOf(value: string[] | string): string[] {
  return typeof value === "string" ? (JSON.parse(value) as string[]) : value;
}

/** The row's fields as a hit carries them, without its score. */
export function chunkFieldsOf(r: ChunkRow): Omit<ChunkHit, "score"> {
  return {
    chunkId: r.chunk_id,
    documentId: r.document_id,
    sourceId: r.source_id,
    path: r.path,
    collection: r.collection,
    ordinal: Number(r.ordinal),
    text: r.text,
    page: r.page === null ? null : Number(r.page),
    headingPath: headingPathOf(r.heading_path),
    tokenCount: Number(r.token_count),
  };
}
