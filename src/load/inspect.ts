/** What a safetensors file holds, read from its header alone (no tensor data), as a displayable result. */
import { Result } from "../display/result";
import { figure, type Figure } from "../display/figure";
import { Table } from "../display/table";
import { readSafetensorsHeader, type SafetensorsInput, type TensorEntry } from "./safetensors";

export class SafetensorsInfo extends Result {
  readonly kind = "safetensors";

  constructor(readonly source: string, readonly tensors: TensorEntry[], readonly metadata: Record<string, string>, readonly fileBytes: number) {
    super();
  }

  /** Number of scalars in all tensors. */
  get parameters(): number {
    return this.tensors.reduce((a, t) => a + t.size, 0);
  }

  summary(): string {
    const dtypes = [...new Set(this.tensors.map((t) => t.dtype))].join("/");
    return `${this.tensors.length} tensors, ${this.parameters} values (${dtypes || "none"}), ${this.fileBytes} bytes, ${this.source}`;
  }

  figures(): Figure[] {
    return [figure([{ type: "bar", x: this.tensors.map((t) => t.name), y: this.tensors.map((t) => t.size), name: "values" }], {
      title: "values per tensor", xaxis: { title: { text: "tensor" } }, yaxis: { title: { text: "values" }, type: "log" },
    })];
  }

  table(): Table {
    return new Table(["tensor", "dtype", "shape", "values", "bytes"], this.tensors.map((t) => [t.name, t.dtype, `[${t.shape.join(", ")}]`, t.size, t.end - t.begin]), this.source);
  }

  protected data(): Record<string, unknown> {
    return { source: this.source, fileBytes: this.fileBytes, metadata: this.metadata, tensors: this.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape })) };
  }
}

/** Lists the tensors of a safetensors file or buffer (validating the header), without reading their data. */
export async function inspectSafetensors(input: SafetensorsInput): Promise<SafetensorsInfo> {
  const header = await readSafetensorsHeader(input);
  const source = typeof input === "string" ? input : `<${header.fileSize} bytes>`;
  return new SafetensorsInfo(source, header.entries, header.metadata, header.fileSize);
}
