// Whether the ONNX export's greedy tokens match the adapted model's here, for the generation and chat forms.

/** `verb` completes "the adapted model here … greedily with" ("answers", "continues"); `ours` is that text. */
export function OnnxAgreement({ agrees, ours, verb }: { agrees: boolean; ours: string; verb: string }) {
  return (
    <div className="output" role="region" aria-label="ONNX agreement">
      <h3>Exported model vs this engine</h3>
      {agrees ? (
        <p className="ok">Agree: the same greedy tokens as the adapted model here.</p>
      ) : (
        <p className="bad">
          Disagree: the adapted model here {verb} greedily with <span className="mono">{ours}</span>
        </p>
      )}
    </div>
  );
}
