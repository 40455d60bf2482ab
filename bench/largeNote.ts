/**
 * A synthetic Chinese ML note for benchmarks: ~8 000 lines, ~6 000 formulas in every delimiter
 * kind, with code blocks, tables and lists. Formulas are mostly distinct (indexed), with a pool of
 * common short ones repeated, as in real notes.
 */
export function makeLargeNote(targetLines = 8000): string {
  const out: string[] = ['# 扩散模型与强化学习长笔记（基准测试用）', ''];
  const common = ['$x_t$', '$\\epsilon$', '$\\theta$', '$\\sigma(t)$', '$\\pi_\\theta(a|s)$', '$\\nabla_\\theta J$'];
  let i = 0;
  while (out.length < targetLines) {
    i++;
    out.push(`## 第 ${i} 节：加噪与采样`, '');
    out.push(
      `在第$${i}$步，噪声$\\epsilon_{${i}}\\sim\\mathcal{N}(0,\\mathbf{I})$，其中${common[i % common.length]}表示状态，` +
        `\\(s(t)=1/\\sqrt{1+t^2}\\)且$\\sigma_{${i}}=${(i % 80) + 0.002}$。`,
      `于是$x_{${i}} = s(t)(x_0 + \\sigma(t)\\epsilon)$，而打分函数为$\\nabla_x \\log p(x;\\sigma_{${i}})$。`,
      '',
      '$$',
      `\\mathcal{L}_{${i}}(\\theta) = \\mathbb{E}_{x_0,\\epsilon}\\left[\\lambda(\\sigma)\\,\\lVert D_\\theta(x_0+\\sigma\\epsilon;\\sigma) - x_0 \\rVert_2^2\\right] + ${i}`,
      '$$',
      '',
      `回报$G_t=\\sum_{k=0}^{\\infty}\\gamma^k r_{t+k+1}$，优势$A_{${i}}=Q-V$，TD 误差\\(\\delta_t=r_t+\\gamma V(s_{t+1})-V(s_t)\\)。`,
      '',
      `策略梯度：\\[ \\nabla_\\theta J_{${i}} = \\mathbb{E}\\left[\\sum_t \\nabla_\\theta \\ln \\pi_\\theta(a_t|s_t) A_t\\right] \\]`,
      '',
      `- 第一项 $c_{\\text{skip}}(\\sigma) = \\frac{\\sigma_{\\text{data}}^2}{\\sigma^2+\\sigma_{\\text{data}}^2}$，第${i}个`,
      `- 第二项 $c_{\\text{out}} = \\frac{\\sigma\\sigma_{\\text{data}}}{\\sqrt{\\sigma^2+\\sigma_{\\text{data}}^2}}$ 与 $\\gamma^{${i % 7}}$`,
      '',
      '| 方法 | $s(t)$ | $\\sigma(t)$ |',
      '|---|---|---|',
      `| VP | $1/\\sqrt{e^{\\frac{1}{2}\\beta_d t^2+\\beta_{\\min} t}}$ | $\\sqrt{e^{\\frac{1}{2}\\beta_d t^2+\\beta_{\\min} t}-1}$ |`,
      `| VE | $1$ | $\\sqrt{t + ${i}}$ |`,
      '',
      '```math',
      `\\begin{aligned} x_{i+1} &= x_i + (t_{i+1}-t_i) d_i \\\\ d_i &= \\frac{x_i - D(x_i;t_i)}{t_i} + ${i} \\end{aligned}`,
      '```',
      '',
      '```python',
      `loss = ((D(x0 + sigma * eps, sigma) - x0) ** 2).mean()  # step ${i}`,
      'loss.backward()',
      '```',
      '',
      `> 注意：价格是$5，数量是$10 不是公式；但$\\beta_{${i}}$与$\\bar{\\alpha}_{${i}}=\\prod_{s\\le ${i}}\\alpha_s$是。`,
      '',
    );
  }
  return out.slice(0, targetLines).join('\n');
}
