// Evaluation metrics: loss and perplexity for causal LMs; accuracy, F1 and Matthews correlation for classification
// (the GLUE metrics the paper reports: MCC for CoLA, accuracy/F1 for the others).

export type EvalMetrics =
  | { loss: number; perplexity: number; examples: number }
  | { loss: number; accuracy: number; f1: number; mcc: number; examples: number };

/** F1 is the positive class's for two labels (as GLUE's MRPC/QQP) and the macro average otherwise; MCC is the
 * multi-class generalisation (Gorodkin 2004), equal to the binary formula for two labels. */
export function classificationMetrics(preds: number[], gold: number[]): { accuracy: number; f1: number; mcc: number } {
  const n = gold.length;
  if (n === 0) return { accuracy: 0, f1: 0, mcc: 0 };
  const K = Math.max(...preds, ...gold) + 1;
  const cm = Array.from({ length: K }, () => new Array<number>(K).fill(0)); // cm[true][pred]
  for (let i = 0; i < n; i++) cm[gold[i]][preds[i]]++;
  let correct = 0;
  for (let k = 0; k < K; k++) correct += cm[k][k];
  const f1Of = (k: number) => {
    const tp = cm[k][k];
    const fp = cm.reduce((s, row, t) => s + (t === k ? 0 : row[k]), 0);
    const fn = cm[k].reduce((s, v, p) => s + (p === k ? 0 : v), 0);
    return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
  };
  const f1 = K <= 2 ? f1Of(1) : Array.from({ length: K }, (_, k) => f1Of(k)).reduce((a, b) => a + b, 0) / K;
  const t = cm.map((row) => row.reduce((a, b) => a + b, 0)); // true counts per class
  const p = Array.from({ length: K }, (_, k) => cm.reduce((s, row) => s + row[k], 0)); // predicted counts
  const num = n * correct - t.reduce((s, tk, k) => s + tk * p[k], 0);
  const den = Math.sqrt((n * n - p.reduce((s, v) => s + v * v, 0)) * (n * n - t.reduce((s, v) => s + v * v, 0)));
  return { accuracy: correct / n, f1, mcc: den === 0 ? 0 : num / den };
}
