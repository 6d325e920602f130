/** One row of a benchmark table: column name → value. */
export interface Row {
  [column: string]: string | number;
}

/** Prints rows as a right-aligned table, under `title` when one is given. */
export function printTable(title: string | null, rows: Row[]): void {
  const columns = Object.keys(rows[0]);
  const cells = rows.map((row) => columns.map((column) => String(row[column])));
  const widths = columns.map((column, i) => Math.max(column.length, ...cells.map((row) => row[i].length)));
  const line = (values: string[]) => values.map((value, i) => value.padStart(widths[i])).join("  ");

  if (title !== null) console.log(`\n${title}`);
  console.log(line(columns));
  console.log(widths.map((width) => "-".repeat(width)).join("  "));
  for (const row of cells) console.log(line(row));
}
