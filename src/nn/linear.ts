// A frozen-or-trainable linear layer with an optional adapter hook (LoRA / dynamic rank attach here from src/peft).
// Weights keep their checkpoint layout: nn.Linear stores W as (out,in), GPT-2's Conv1D as (in,out).

import type { Backend, Tensor } from '../tensor/backend';

export type WeightLayout = 'out_in' | 'in_out';

/** What an adapter adds to a linear layer: y += f(x), and the matching backward. */
export interface LinearAdapter {
  /** y(N,out) += adapter(x(N,in)). Called right after the base matmul. */
  forward(be: Backend, y: Tensor, x: Tensor, N: number): void;
  /** dx(N,in) += d adapter/dx · dy (when dx is given); accumulates the adapter's own parameter gradients. */
  backward(be: Backend, dx: Tensor | null, dy: Tensor, x: Tensor, N: number): void;
}

export class Linear {
  adapter: LinearAdapter | null = null;
  /** Set when the base weight is trained (full fine-tuning); null for frozen weights. */
  dW: Tensor | null = null;
  db: Tensor | null = null;

  constructor(
    readonly name: string,
    readonly inFeatures: number,
    readonly outFeatures: number,
    readonly layout: WeightLayout,
    readonly W: Tensor,
    readonly b: Tensor | null,
  ) {}

  /** y(N,out) = x(N,in) W^T + b [+ adapter(x)] */
  forward(be: Backend, y: Tensor, x: Tensor, N: number): void {
    be.matmul(y, x, this.W, this.b, {
      M: N,
      K: this.inFeatures,
      N: this.outFeatures,
      transB: this.layout === 'out_in',
    });
    this.adapter?.forward(be, y, x, N);
  }

  /** dx (+)= dy W; dW += dy^T x (or x^T dy for Conv1D); db += colsum(dy). dx may be null at the bottom of a model. */
  backward(be: Backend, dx: Tensor | null, dy: Tensor, x: Tensor, N: number, accumulateDx = false): void {
    const [inF, outF] = [this.inFeatures, this.outFeatures];
    if (dx)
      be.matmul(dx, dy, this.W, null, {
        M: N,
        K: outF,
        N: inF,
        transB: this.layout === 'in_out',
        accumulate: accumulateDx,
      });
    if (this.dW) {
      if (this.layout === 'out_in')
        be.matmul(this.dW, dy, x, null, { M: outF, K: N, N: inF, transA: true, accumulate: true });
      else be.matmul(this.dW, x, dy, null, { M: inF, K: N, N: outF, transA: true, accumulate: true });
    }
    if (this.db) be.sumRows(this.db, dy, N, outF, true);
    this.adapter?.backward(be, dx, dy, x, N);
  }
}
