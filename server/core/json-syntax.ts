// Locates JSON syntax errors by line and column, for dataset import messages.

/**
 * Returns the location ("line L, column C") and a description of the first syntax error in
 * `text`, whose first line has the number `firstLine`. JSON.parse in Node 20.20 (V8 11.3)
 * gives no position for some errors, such as "Unexpected token ']', "[1,]" is not valid JSON",
 * so the text is scanned again here. The JSON.parse message is the fallback if the scan finds
 * no error.
 */
export function describeJsonSyntaxError(
  text: string,
  parseError: unknown,
  firstLine = 1,
): { location: string; message: string } {
  const found = findJsonSyntaxError(text, firstLine);
  if (found !== null) {
    const { line, column } = lineAndColumn(text, found.offset, firstLine);
    return { location: `line ${line}, column ${column}`, message: found.message };
  }

  const message = parseError instanceof Error ? parseError.message : String(parseError);
  const position = /at position (\d+)/.exec(message);
  if (position === null) return { location: "", message };
  const { line, column } = lineAndColumn(text, Number(position[1]), firstLine);
  return { location: `line ${line}, column ${column}`, message };
}

function lineAndColumn(text: string, offset: number, firstLine: number): { line: number; column: number } {
  let line = firstLine;
  let lineStart = 0;
  for (let index = 0; index < offset && index < text.length; index++) {
    if (text[index] === "\n") {
      line++;
      lineStart = index + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

class JsonScanStop {
  constructor(
    readonly offset: number,
    readonly message: string,
  ) {}
}

/**
 * Scans `text` against the JSON grammar (RFC 8259) and returns the offset and description
 * of the first error, or null when the text is valid JSON. Hints count lines from `firstLine`.
 */
function findJsonSyntaxError(text: string, firstLine: number): { offset: number; message: string } | null {
  let position = 0;

  const describeAt = (at: number) => (at >= text.length ? "the end of the input" : JSON.stringify(text[at]));
  const fail = (message: string, at = position): never => {
    throw new JsonScanStop(at, message);
  };
  const skipWhitespace = () => {
    while (position < text.length && " \t\n\r".includes(text[position])) position++;
  };

  // Hints for the usual hand-editing mistakes, whose error shows up one token later.
  const missingCommaHint = (valueEnd: number) =>
    text.slice(valueEnd, position).includes("\n")
      ? ` (is a comma missing at the end of line ${lineAndColumn(text, valueEnd, firstLine).line}?)`
      : "";
  const trailingCommaHint = () => {
    let before = position - 1;
    while (before >= 0 && " \t\n\r".includes(text[before])) before--;
    return text[before] === ","
      ? ` (JSON allows no comma after the last entry; remove the one on line ${lineAndColumn(text, before, firstLine).line})`
      : "";
  };

  const scanString = () => {
    const start = position;
    position++;
    for (;;) {
      if (position >= text.length) fail("unterminated string", start);
      const char = text[position];
      if (char === '"') {
        position++;
        return;
      }
      if (char === "\\") {
        const escape = text[position + 1];
        if (escape !== undefined && '"\\/bfnrt'.includes(escape)) {
          position += 2;
        } else if (escape === "u" && /^[0-9a-fA-F]{4}$/.test(text.slice(position + 2, position + 6))) {
          position += 6;
        } else {
          fail(`invalid escape sequence ${JSON.stringify(text.slice(position, position + 2))} in a string`);
        }
        continue;
      }
      if (char === "\n" || char === "\r") fail("unterminated string: a line break inside a string must be written as \\n");
      if (char.charCodeAt(0) < 0x20) fail("invalid control character in a string; escape it");
      position++;
    }
  };

  const numberPattern = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  const scanNumber = () => {
    numberPattern.lastIndex = position;
    const match = numberPattern.exec(text);
    if (match === null) fail(`invalid number starting with ${describeAt(position)}`);
    position += match![0].length;
  };

  const scanValue = (): void => {
    skipWhitespace();
    const char = text[position];
    if (char === "{") return scanObject();
    if (char === "[") return scanArray();
    if (char === '"') return scanString();
    if (char === "-" || (char !== undefined && char >= "0" && char <= "9")) return scanNumber();
    for (const literal of ["true", "false", "null"]) {
      if (text.startsWith(literal, position)) {
        position += literal.length;
        return;
      }
    }
    fail(`expected a value, but got ${describeAt(position)}${trailingCommaHint()}`);
  };

  const scanObject = () => {
    position++;
    skipWhitespace();
    if (text[position] === "}") {
      position++;
      return;
    }
    for (;;) {
      skipWhitespace();
      if (text[position] !== '"') {
        fail(`expected a property name in double quotes, but got ${describeAt(position)}${trailingCommaHint()}`);
      }
      scanString();
      skipWhitespace();
      if (text[position] !== ":") fail(`expected ":" after a property name, but got ${describeAt(position)}`);
      position++;
      scanValue();
      const valueEnd = position;
      skipWhitespace();
      if (text[position] === ",") {
        position++;
      } else if (text[position] === "}") {
        position++;
        return;
      } else {
        fail(`expected "," or "}" after a property value, but got ${describeAt(position)}${missingCommaHint(valueEnd)}`);
      }
    }
  };

  const scanArray = () => {
    position++;
    skipWhitespace();
    if (text[position] === "]") {
      position++;
      return;
    }
    for (;;) {
      scanValue();
      const valueEnd = position;
      skipWhitespace();
      if (text[position] === ",") {
        position++;
      } else if (text[position] === "]") {
        position++;
        return;
      } else {
        fail(`expected "," or "]" after an array element, but got ${describeAt(position)}${missingCommaHint(valueEnd)}`);
      }
    }
  };

  try {
    scanValue();
    skipWhitespace();
    if (position < text.length) fail(`unexpected ${describeAt(position)} after the end of the JSON value`);
    return null;
  } catch (error) {
    if (error instanceof JsonScanStop) return { offset: error.offset, message: error.message };
    // Nesting deep enough to overflow the stack: fall back to the JSON.parse message.
    if (error instanceof RangeError) return null;
    throw error;
  }
}
