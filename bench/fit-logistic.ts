/** L2-regularised logistic regression by full-batch gradient descent on standardised features. */
export function fitLogistic(xs: number[][], ys: number[], lambda = 0.01, iters = 4000, rate = 0.3) {
  const d = xs[0]!.length;
  const mean = Array.from({ length: d }, (_, j) => xs.reduce((s, x) => s + x[j]!, 0) / xs.length);
  const scale = Array.from(
    { length: d },
    (_, j) => Math.sqrt(xs.reduce((s, x) => s + (x[j]! - mean[j]!) ** 2, 0) / xs.length) || 1,
  );
  const zs = xs.map((x) => x.map((v, j) => (v - mean[j]!) / scale[j]!));
  const w = new Array<number>(d).fill(0);
  let b = 0;
  for (let it = 0; it < iters; it++) {
    const gw = new Array<number>(d).fill(0);
    let gb = 0;
    zs.forEach((z, i) => {
      const p = 1 / (1 + Math.exp(-(b + z.reduce((s, v, j) => s + v * w[j]!, 0))));
      const err = p - ys[i]!;
      gb += err;
      z.forEach((v, j) => {
        gw[j]! += err * v;
      });
    });
    for (let j = 0; j < d; j++) {
      w[j]! -= rate * (gw[j]! / zs.length + lambda * w[j]!);
    }
    b -= rate * (gb / zs.length);
  }
  return { mean, scale, weights: w, bias: b };
}
