// RFC 4180 CSV reader used by dataset import.

export interface CsvRecord {
  /** 1-based line on which the record starts; a quoted field may continue on later lines. */
  line: number;
  fields: string[];
}

export class CsvSyntaxError extends Error {
  override readonly name = "CsvSyntaxError";

  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Splits CSV text into records following RFC 4180: fields separated by commas, records by
 * CRLF or LF, and fields enclosed in double quotes may contain commas, line breaks and
 * doubled quotes (""). Text inside quotes is kept as written. Empty lines are skipped.
 * Throws a CsvSyntaxError for an unterminated quote or a quote inside an unquoted field.
 */
export function parseCsv(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = "";
  let line = 1;
  let recordLine = 1;
  let recordHasContent = false;
  let atFieldStart = true;
  let index = 0;

  const endRecord = () => {
    if (recordHasContent) records.push({ line: recordLine, fields: [...fields, field] });
    fields = [];
    field = "";
    recordHasContent = false;
    atFieldStart = true;
  };

  while (index < text.length) {
    const char = text[index];

    if (char === '"' && atFieldStart) {
      const quoteLine = line;
      recordHasContent = true;
      index++;
      for (;;) {
        if (index >= text.length) {
          throw new CsvSyntaxError(
            quoteLine,
            "unterminated quoted field: the double quote opened on this line is never closed; close it, and double any quote inside it",
          );
        }
        const quoted = text[index];
        if (quoted === '"' && text[index + 1] === '"') {
          field += '"';
          index += 2;
          continue;
        }
        if (quoted === '"') {
          index++;
          break;
        }
        if (quoted === "\n" || (quoted === "\r" && text[index + 1] !== "\n")) line++;
        field += quoted;
        index++;
      }

      const next = text[index];
      if (next !== undefined && next !== "," && next !== "\n" && next !== "\r") {
        throw new CsvSyntaxError(
          line,
          `unexpected ${JSON.stringify(next)} after a closing double quote; a quote inside a quoted field must be doubled ("")`,
        );
      }
      atFieldStart = false;
      continue;
    }

    if (char === ",") {
      fields.push(field);
      field = "";
      recordHasContent = true;
      atFieldStart = true;
      index++;
    } else if (char === "\n" || char === "\r") {
      index += char === "\r" && text[index + 1] === "\n" ? 2 : 1;
      endRecord();
      line++;
      recordLine = line;
    } else if (char === '"') {
      throw new CsvSyntaxError(
        line,
        "unexpected double quote inside an unquoted field; enclose the field in double quotes and write the quote as \"\"",
      );
    } else {
      field += char;
      recordHasContent = true;
      atFieldStart = false;
      index++;
    }
  }
  endRecord();
  return records;
}
