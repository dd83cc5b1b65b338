/**
 * Writes a small, valid PDF with one text page per entry of `pages` (Helvetica, one line per
 * `\n`). Tests need PDFs with known text on known pages, generated here so that `npm test` reads
 * nothing the repository does not hold.
 */
export function makePdf(pages: string[]): Uint8Array {
  return writePdf(pages.map((text) => ({ lines: text.split("\n") })));
}

/**
 * A scanned document as a scanner files it: each page is one image (no text layer) with the
 * court's filing stamp ("Case 1:21-cv-00417 … Page 1 of 5") as its only text, which is what pdf.js
 * finds on a real scanned order.
 */
export function makeScannedPdf(pageCount: number): Uint8Array {
  return writePdf(
    Array.from({ length: pageCount }, (_, i) => ({
      lines: [`Case 1:21-cv-00417-JMC Document 12 Filed 04/02/21 Page ${i + 1} of ${pageCount}`],
      fontSize: 8,
      image: true,
    })),
  );
}

interface PageSpec {
  lines: string[];
  fontSize?: number;
  /** Paint a grey 16×16 image over the page, as a scanner's page image. */
  image?: boolean;
}

function writePdf(pages: PageSpec[]): Uint8Array {
  const objects: string[] = []; // object n is objects[n - 1]
  const add = (body: string) => objects.push(body); // returns the new object's number
  add("<< /Type /Catalog /Pages 2 0 R >>");
  add(""); // the page tree, written once the page objects have numbers
  add("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>");
  const kids: number[] = [];
  for (const page of pages) {
    const size = page.fontSize ?? 11;
    const text = page.lines.map((l) => `(${escapePdfString(l)}) Tj T*`).join(" ");
    let content = `BT /F1 ${size} Tf ${size + 3} TL 56 780 Td ${text} ET`;
    let xobjects = "";
    if (page.image) {
      const pixels = Array.from({ length: 256 }, (_, i) => String.fromCharCode(96 + ((i * 37) % 128))).join("");
      const image = add(
        `<< /Type /XObject /Subtype /Image /Width 16 /Height 16 /ColorSpace /DeviceGray /BitsPerComponent 8 /Length 256 >>\nstream\n${pixels}\nendstream`,
      );
      xobjects = ` /XObject << /Im1 ${image} 0 R >>`;
      content = `q 483 0 0 700 56 60 cm /Im1 Do Q ${content}`;
    }
    const stream = add(`<< /Length ${Buffer.byteLength(content, "latin1")} >>\nstream\n${content}\nendstream`);
    kids.push(
      add(
        `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >>${xobjects} >> /Contents ${stream} 0 R >>`,
      ),
    );
  }
  objects[1] = `<< /Type /Pages /Kids [${kids.map((k) => `${k} 0 R`).join(" ")}] /Count ${pages.length} >>`;
  let out = "%PDF-1.4\n";
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(Buffer.byteLength(out, "latin1"));
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out, "latin1");
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const o of offsets) {
    out += `${String(o).padStart(10, "0")} 00000 n \n`;
  }
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return new Uint8Array(Buffer.from(out, "latin1"));
}

function escapePdfString(s: string): string {
  return s.replace(/[\\()]/g, (c) => `\\${c}`);
}
