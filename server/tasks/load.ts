import { readFileSync } from "node:fs";
import path from "node:path";
import { DatasetError, parseDataset, type DatasetFormat } from "../core/dataset";
import type { Dataset } from "../core/types";

const FORMAT_BY_EXTENSION: Record<string, DatasetFormat> = {
  ".json": "json",
  ".jsonl": "jsonl",
  ".ndjson": "jsonl",
  ".csv": "csv",
};

/** Returns the dataset format for a file name from its extension (case-insensitive). */
export function datasetFormatOf(filePath: string): DatasetFormat {
  const extension = path.extname(filePath).toLowerCase();
  const format = FORMAT_BY_EXTENSION[extension];
  if (format === undefined) {
    const extensionText = extension === "" ? "no extension" : `extension "${extension}"`;
    throw new DatasetError(filePath, [
      { location: "", message: `unsupported file type (${extensionText}); expected a .json, .jsonl or .csv file` },
    ]);
  }
  return format;
}

/**
 * Reads a dataset file and parses it in the format its extension names. Synchronous, because
 * a dataset is read once, when a task is created.
 * Throws a DatasetError when the file is missing, a directory, not readable for lack of
 * permission, not UTF-8 or invalid. Other read errors are re-thrown unchanged.
 */
export function loadDatasetFile(filePath: string): Dataset {
  const format = datasetFormatOf(filePath);
  const text = readUtf8File(filePath);
  return parseDataset(text, format, path.basename(filePath));
}

function readUtf8File(filePath: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(filePath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const resolved = path.resolve(filePath);
    if (code === "ENOENT") throw fileError(filePath, `file not found (looked for ${resolved})`);
    if (code === "EISDIR") throw fileError(filePath, `is a directory, but a dataset file was expected (${resolved})`);
    if (code === "EACCES") throw fileError(filePath, `permission denied when reading ${resolved}`);
    throw error;
  }

  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw fileError(filePath, "is not valid UTF-8 text; save the file as UTF-8 and import it again");
  }
}

function fileError(filePath: string, message: string): DatasetError {
  return new DatasetError(filePath, [{ location: "", message }]);
}
