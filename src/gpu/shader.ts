// Shader sources: each kernel launcher imports its own `shaders/<op>.wgsl?raw` (and an optional shared prelude);
// common.wgsl is prepended here and
// documented `{{NAME}}` placeholders are substituted. No control flow is ever built in strings.

import commonWgsl from '../../shaders/common.wgsl?raw';

/** A WGSL file as a launcher passes it to the context. */
export interface ShaderSource {
  /** File name without extension, used in labels and cache keys. */
  name: string;
  code: string;
  /** WGSL shared by several files of one op family (e.g. attention_common.wgsl), inserted after common.wgsl. */
  prelude?: string;
  /** WGSL extensions the module enables (`enable f16;`), emitted first; the device must have the matching feature. */
  enables?: readonly 'f16'[];
}

/** Full module text: common.wgsl + the op's file with placeholders replaced. Throws on an unreplaced placeholder. */
export function composeShader(src: ShaderSource, defines: Record<string, string | number> = {}): string {
  const prelude = src.prelude ? `// ---- prelude of ${src.name}.wgsl\n${src.prelude}\n` : '';
  const enables = (src.enables ?? []).map((e) => `enable ${e};\n`).join('');
  const text = `${enables}${commonWgsl}\n${prelude}// ---- ${src.name}.wgsl\n${src.code}`.replace(
    /\{\{(\w+)\}\}/g,
    (_m, name: string) => {
      if (!(name in defines)) throw new Error(`shader ${src.name}: placeholder {{${name}}} has no value`);
      return String(defines[name]);
    },
  );
  return text;
}
