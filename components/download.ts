/** Starts a browser download of `text` as a file. */
export function downloadText(text: string, fileName: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = fileName;
  document.body.appendChild(link);
  link.click();
  link.remove();
  URL.revokeObjectURL(url);
}

export function downloadJson(value: unknown, fileName: string): void {
  downloadText(`${JSON.stringify(value, null, 2)}\n`, fileName.replace(/[\\/:*?"<>|]+/g, "_"), "application/json");
}
