using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace GpuAe.Kernels;

/// <summary>The reconstruction loss family: sigmoid fused with binary cross-entropy, and the fixed-order sum.</summary>
public static class Loss
{
    /// <summary>
    /// One thread per row of logits[rows, cols]. BCE is computed from the logit l, never from sigmoid(l), as
    /// max(l,0) − l·x + log(1 + e^−|l|), which is exact for any l and never takes log(0); its gradient with
    /// respect to the logit is sigmoid(l) − x, scaled by gradScale (1/batch for a batch-mean loss).
    /// </summary>
    public static void SigmoidBceRows(Index1D row, ArrayView<float> logits, ArrayView<float> targets,
        ArrayView<float> dLogits, ArrayView<float> rowBce, ArrayView<float> rowSquaredError, int cols, float gradScale)
    {
        float bce = 0f, squaredError = 0f;
        int start = row * cols;
        for (int i = start; i < start + cols; i++)
        {
            float l = logits[i], x = targets[i];
            float e = XMath.Exp(-XMath.Abs(l));                       // in (0, 1]: never overflows
            float s = l >= 0f ? 1f / (1f + e) : e / (1f + e);          // sigmoid(l), stable on both sides
            bce += XMath.Max(l, 0f) - l * x + XMath.Log(1f + e);
            float diff = s - x;
            squaredError += diff * diff;
            dLogits[i] = diff * gradScale;
        }
        rowBce[row] = bce;
        rowSquaredError[row] = squaredError;
    }

    /// <summary>A single thread adds scale·Σ values[0..count) to accumulator[slot], summing in index order: the per-batch
    /// sums are at most a few hundred values, and a fixed order makes every rerun bit-identical (no atomics).</summary>
    public static void AccumulateSum(Index1D _, ArrayView<float> values, int count, ArrayView<float> accumulator, int slot, float scale)
    {
        float sum = 0f;
        for (int i = 0; i < count; i++) sum += values[i];
        accumulator[slot] += scale * sum;
    }

    /// <summary>Single thread: records the first step at which values[slot] (a running loss sum) stopped being finite.
    /// NaN and ∞ both propagate through the running sum, so checking the sum catches a bad batch loss.</summary>
    public static void FlagNonFinite(Index1D _, ArrayView<float> values, int slot, ArrayView<int> flag, int step)
    {
        float v = values[slot];
        if ((XMath.IsNaN(v) || XMath.IsInfinity(v)) && flag[0] == 0) flag[0] = step;
    }
}
