using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace GpuAe.Kernels;

/// <summary>The loss family: sigmoid fused with binary cross-entropy, softmax cross-entropy, the half squared error, a binary
/// classifier's decisions scored, and the fixed-order sum.</summary>
/// <remarks>Kernels call MathF, not XMath, for exp, log and sqrt: on GPUs ILGPU maps both to the same device
/// intrinsic, but the CPU accelerator runs the kernel's own .NET code, where XMath.Exp/Log/Sqrt are software
/// (CORDIC) loops and MathF is the hardware-backed runtime function: the loss kernel ran ~10× slower with XMath.</remarks>
public static class Loss
{
    /// <summary>Largest group the reductions below are written for (their shared-memory arrays have this many slots).</summary>
    public const int MaxGroup = 256;

    /// <summary>
    /// One group per row of logits[rows, cols]; its threads take every group-size-th pixel, then add their partial
    /// sums in a fixed tree (so reruns are bit-identical). BCE is computed from the logit l, never from sigmoid(l), as
    /// max(l,0) − l·x + log(1 + e^−|l|), which is exact for any l and never takes log(0); its gradient with respect to
    /// the logit is sigmoid(l) − x, scaled by gradScale (1/batch for a batch-mean loss). Launch with grid = rows and a
    /// power-of-two group size ≤ <see cref="MaxGroup"/>. With <paramref name="lossOnly"/> ≠ 0 only rowBce is written (dLogits
    /// and rowSquaredError are not touched: any views will do), with the same sums.
    /// </summary>
    public static void SigmoidBceRows(ArrayView<float> logits, ArrayView<float> targets,
        ArrayView<float> dLogits, ArrayView<float> rowBce, ArrayView<float> rowSquaredError, int cols, float gradScale, int lossOnly)
    {
        var bcePartials = SharedMemory.Allocate<float>(MaxGroup);
        var squaredErrorPartials = SharedMemory.Allocate<float>(MaxGroup);
        int row = Grid.IdxX, thread = Group.IdxX, threads = Group.DimX;
        float bce = 0f, squaredError = 0f;
        int start = row * cols;
        for (int i = start + thread; i < start + cols; i += threads)
        {
            bce += PixelBce(logits[i], targets[i], out float diff);
            if (lossOnly != 0) continue;
            squaredError += diff * diff;
            dLogits[i] = diff * gradScale;
        }
        bcePartials[thread] = bce;
        squaredErrorPartials[thread] = squaredError;
        for (int half = threads / 2; half > 0; half /= 2)
        {
            Group.Barrier();
            if (thread < half)
            {
                bcePartials[thread] += bcePartials[thread + half];
                squaredErrorPartials[thread] += squaredErrorPartials[thread + half];
            }
        }
        if (thread == 0)
        {
            rowBce[row] = bcePartials[0];
            if (lossOnly == 0) rowSquaredError[row] = squaredErrorPartials[0];
        }
    }

    /// <summary>BCE of one pixel from its logit l and target x, and diff = sigmoid(l) − x (the logit's gradient): the
    /// element every sigmoid + BCE applies (the kernels, the fused step, the SIMD backend's scalar tail; its vector body
    /// is the same formula on a vector of pixels).</summary>
    public static float PixelBce(float l, float x, out float diff)
    {
        float e = MathF.Exp(-MathF.Abs(l));                       // in (0, 1]: never overflows
        float s = l >= 0f ? 1f / (1f + e) : e / (1f + e);          // sigmoid(l), stable on both sides
        diff = s - x;
        return MathF.Max(l, 0f) - l * x + MathF.Log(1f + e);
    }

    /// <summary>The CPU kernel set's <see cref="SigmoidBceRows"/>: the same results, each row summed by one thread
    /// in pixel order (grid-stride over the rows), in double: a float running sum of 784 terms would carry ~30× the
    /// rounding of the group kernel's 256-way tree. A group barrier costs the CPU accelerator three operating-system
    /// barrier waits, which made one group per row take 2.5 ms for a 128-image batch.</summary>
    public static void SigmoidBceRowsPerThread(Index1D thread, int threads, ArrayView<float> logits, ArrayView<float> targets,
        ArrayView<float> dLogits, ArrayView<float> rowBce, ArrayView<float> rowSquaredError, int rows, int cols, float gradScale, int lossOnly)
    {
        for (int row = thread; row < rows; row += threads)
        {
            double bce = 0, squaredError = 0;
            for (int i = row * cols; i < (row + 1) * cols; i++)
            {
                bce += PixelBce(logits[i], targets[i], out float diff);
                if (lossOnly != 0) continue;
                squaredError += diff * diff;
                dLogits[i] = diff * gradScale;
            }
            rowBce[row] = (float)bce;
            if (lossOnly == 0) rowSquaredError[row] = (float)squaredError;
        }
    }

    /// <summary>
    /// Softmax cross-entropy per row of logits[rows, cols] against target distributions (one-hot labels), one thread
    /// per row (grid-stride; a classifier has ten columns, too few for a group); each row by <see cref="SoftmaxCrossEntropyRow"/>.
    /// </summary>
    public static void SoftmaxCrossEntropyRows(Index1D thread, int threads, ArrayView<float> logits, ArrayView<float> targets,
        ArrayView<float> dLogits, ArrayView<float> rowLoss, ArrayView<float> rowCorrect, int rows, int cols, float gradScale)
    {
        for (int row = thread; row < rows; row += threads)
        {
            var result = SoftmaxCrossEntropyRow(logits.Row(row, cols), targets.Row(row, cols), dLogits.Row(row, cols), cols, gradScale);
            rowLoss[row] = result.Loss;
            rowCorrect[row] = result.Correct;
        }
    }

    /// <summary>
    /// One row of logits[cols] against its target distribution: loss = logΣexp(l) − Σ t·l, by the max-shifted
    /// log-sum-exp so nothing overflows; writes dLogits = (softmax(l) − t)·gradScale; Correct = 1 when the largest logit
    /// is at the largest target (the first of equals), else 0. The row of every backend (kernel and SIMD).
    /// </summary>
    public static CrossEntropy SoftmaxCrossEntropyRow<TFloats>(TFloats logits, TFloats targets, TFloats dLogits, int cols, float gradScale)
        where TFloats : struct, IElements<float>
    {
        int predicted = 0, label = 0;
        float max = logits[0];
        for (int c = 1; c < cols; c++)
        {
            if (logits[c] > max) { max = logits[c]; predicted = c; }
            if (targets[c] > targets[label]) label = c;
        }
        float sum = 0f, dot = 0f;
        for (int c = 0; c < cols; c++)
        {
            sum += MathF.Exp(logits[c] - max);
            dot += targets[c] * logits[c];
        }
        for (int c = 0; c < cols; c++)
            dLogits[c] = (MathF.Exp(logits[c] - max) / sum - targets[c]) * gradScale;
        return new CrossEntropy { Loss = max + MathF.Log(sum) - dot, Correct = predicted == label ? 1f : 0f };
    }

    /// <summary>
    /// Per row of predictions[rows, cols] against targets[rows, cols], one thread per row (grid-stride): rowLoss =
    /// ½·Σ (p − t)², the negative log-likelihood of t under N(p, I) without its constant (the VAE-GAN's L_llike in the
    /// discriminator's features), and dPredictions = (p − t)·gradScale; each row by <see cref="HalfSquaredErrorRow"/>.
    /// </summary>
    public static void HalfSquaredErrorRows(Index1D thread, int threads, ArrayView<float> predictions, ArrayView<float> targets,
        ArrayView<float> dPredictions, ArrayView<float> rowLoss, int rows, int cols, float gradScale)
    {
        for (int row = thread; row < rows; row += threads)
            rowLoss[row] = HalfSquaredErrorRow(predictions.Row(row, cols), targets.Row(row, cols), dPredictions.Row(row, cols), cols, gradScale);
    }

    /// <summary>One row: returns ½·Σ (p − t)² summed in column order, writes dPredictions = (p − t)·gradScale. The row of
    /// every backend.</summary>
    public static float HalfSquaredErrorRow<TFloats>(TFloats predictions, TFloats targets, TFloats dPredictions, int cols, float gradScale)
        where TFloats : struct, IElements<float>
    {
        float sum = 0f;
        for (int c = 0; c < cols; c++)
        {
            float diff = predictions[c] - targets[c];
            sum += diff * diff;
            dPredictions[c] = diff * gradScale;
        }
        return 0.5f * sum;
    }

    /// <summary>correct[i] = <see cref="BinaryCorrect"/>(logits[i], targets[i]) over correct: which of a discriminator's
    /// decisions were right.</summary>
    public static void BinaryDecisions(Index1D thread, int threads, ArrayView<float> logits, ArrayView<float> targets, ArrayView<float> correct)
    {
        for (int i = thread; i < correct.IntLength; i += threads) correct[i] = BinaryCorrect(logits[i], targets[i]);
    }

    /// <summary>1 when the logit's side of 0 is the target's side of ½ (sigmoid(l) ≥ ½ exactly when the target is ≥ ½),
    /// else 0: a binary classifier's decision scored (a NaN logit decides "below ½").</summary>
    public static float BinaryCorrect(float logit, float target) => (logit >= 0f) == (target >= 0.5f) ? 1f : 0f;

    /// <summary>One group adds scale·Σ values[0..count) to accumulator[slot]: strided partial sums, then a fixed tree, so
    /// every rerun is bit-identical (no atomics). The per-batch sums are at most a few hundred values.</summary>
    public static void AccumulateSum(ArrayView<float> values, int count, ArrayView<float> accumulator, int slot, float scale)
    {
        var partials = SharedMemory.Allocate<float>(MaxGroup);
        int thread = Group.IdxX, threads = Group.DimX;
        float sum = 0f;
        for (int i = thread; i < count; i += threads) sum += values[i];
        partials[thread] = sum;
        for (int half = threads / 2; half > 0; half /= 2)
        {
            Group.Barrier();
            if (thread < half) partials[thread] += partials[thread + half];
        }
        if (thread == 0) accumulator[slot] += scale * partials[0];
    }

    /// <summary>flag[0] = step if <paramref name="sum"/> is NaN or ±∞ and flag[0] is still 0 (see NonFiniteWatch): the
    /// watch's check on every backend.</summary>
    public static void FlagIfNonFinite<TInts>(float sum, TInts flag, int step) where TInts : struct, IElements<int>
    {
        if ((XMath.IsNaN(sum) || XMath.IsInfinity(sum)) && flag[0] == 0) flag[0] = step;
    }
}

/// <summary>One row's softmax cross-entropy and whether its prediction is right (1 or 0), from <see cref="Loss.SoftmaxCrossEntropyRow"/>.</summary>
public struct CrossEntropy
{
    public float Loss, Correct;
}
