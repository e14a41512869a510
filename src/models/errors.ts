// Typed errors for model files (safetensors, config.json, adapters, ...). Each names the file and the field at fault,
// so the UI can show "model.safetensors: tensor h.0.attn.c_attn.weight: ..." and tell the user what to do.

export class ModelFormatError extends Error {
  /** The file being read or written, e.g. `model.safetensors`. */
  readonly file: string;
  /** The field, tensor name or part of the file at fault, e.g. `header length` or `h.0.mlp.c_fc.weight`. */
  readonly field: string;

  constructor(file: string, field: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.file = file;
    this.field = field;
  }
}

/** What went wrong in a safetensors file; stable for tests and for the UI to branch on. */
export type SafetensorsErrorCode =
  | 'HeaderTooSmall' // file shorter than the 8-byte length prefix
  | 'HeaderTooLarge' // header length above 100,000,000
  | 'InvalidHeaderLength' // header length runs past the end of the file
  | 'InvalidHeaderUtf8'
  | 'InvalidHeaderJson' // not JSON, or not a JSON object
  | 'DuplicateKey'
  | 'InvalidMetadata' // __metadata__ is not an object of strings
  | 'InvalidTensorInfo' // entry not an object, or dtype/shape/data_offsets missing or of the wrong type
  | 'UnknownDtype'
  | 'InvalidShape' // negative or non-integer dimension
  | 'ValidationOverflow' // shape product or byte size beyond Number.MAX_SAFE_INTEGER
  | 'InvalidOffset' // begin > end, gap or overlap between tensors
  | 'TensorSizeMismatch' // end - begin != prod(shape) * sizeof(dtype)
  | 'IncompleteBuffer' // the tensors do not end exactly at the end of the file
  | 'UnsupportedDtype' // toFloat32 cannot convert this dtype
  | 'InvalidInput'; // writer input is inconsistent

export class SafetensorsError extends ModelFormatError {
  readonly code: SafetensorsErrorCode;

  constructor(
    code: SafetensorsErrorCode,
    file: string,
    field: string,
    problem: string,
    fix: string,
    options?: { cause?: unknown },
  ) {
    super(file, field, `${file}: ${field}: ${problem}. ${fix}`, options);
    this.code = code;
  }
}

/** config.json is missing a field, has a value of the wrong type or range, or disagrees with the weights. */
export class ConfigError extends ModelFormatError {}

/** tokenizer.json / tokenizer_config.json cannot be read, or do not fit the model. */
export class TokenizerError extends ModelFormatError {}
