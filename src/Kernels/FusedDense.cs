using ILGPU;
using ILGPU.Runtime;

namespace GpuAe.Kernels;

/// <summary>
/// The dense AE's or VAE's layers as the fused step sees them: encoder Features→Hidden ReLU→EncoderOut, then the AE's
/// code (EncoderOut = Latent, through a ReLU or not) or the VAE's z sampled from (μ, log σ²) (EncoderOut = 2·Latent),
/// decoder Latent→Hidden ReLU→Features logits, sigmoid + BCE. W0…W3 and B0…B3: where each layer's weight W[out, in]
/// and bias start in the model's parameter buffer. MaxRows: the batch the work buffer is laid out for.
/// </summary>
public readonly record struct DenseStepLayout(int MaxRows, int Features, int Hidden, int EncoderOut, int Latent, bool Variational, bool CodeRelu,
    int W0, int B0, int W1, int B1, int W2, int B2, int W3, int B3)
{
    /// <summary>Whether the fused step's shared-memory buffers hold these widths (<see cref="FusedDense"/>'s limits).</summary>
    public bool Fits => Features <= FusedDense.MaxFeatures && Hidden <= FusedDense.MaxHidden && EncoderOut <= FusedDense.MaxEncoderOut
        && Latent <= EncoderOut && EncoderOut == (Variational ? 2 * Latent : Latent) && Features > 0 && Hidden > 0 && Latent > 0;

    // The work buffer: every activation and gradient the weight gradients need, MaxRows rows each, then the row losses.
    int X => 0;
    int H1 => X + MaxRows * Features;
    int Enc => H1 + MaxRows * Hidden;
    int Z => Enc + MaxRows * EncoderOut;
    int H2 => Z + MaxRows * Latent;
    int DLogits => H2 + MaxRows * Hidden;
    int DH2 => DLogits + MaxRows * Features;
    int DEnc => DH2 + MaxRows * Hidden;
    int DH1 => DEnc + MaxRows * EncoderOut;
    int RowBce => DH1 + MaxRows * Hidden;
    int RowKl => RowBce + MaxRows;
    // Then every weight transposed, W[out, in] as Wᵀ[in, out] (see FusedDense.TransposeWeights).
    int T0 => RowKl + MaxRows;
    int T1 => T0 + Features * Hidden;
    int T2 => T1 + Hidden * EncoderOut;
    int T3 => T2 + Latent * Hidden;

    /// <summary>Floats of the work buffer.</summary>
    public int WorkLength => T3 + Hidden * Features;

    /// <summary>Weights of the four layers: the threads of <see cref="FusedDense.TransposeWeights"/>.</summary>
    public int WeightCount => 2 * Features * Hidden + Hidden * EncoderOut + Latent * Hidden;

    static int Tiles(int outputs, int inputs) => (outputs + Gemm.GroupTile - 1) / Gemm.GroupTile * ((inputs + Gemm.GroupTile - 1) / Gemm.GroupTile);

    /// <summary>Groups of the update launch: every 32 × 32 tile of the four weight gradients, and one for the loss sum.</summary>
    public int UpdateGroups => Tiles(Hidden, Features) + Tiles(EncoderOut, Hidden) + Tiles(Hidden, Latent) + Tiles(Features, Hidden) + 1;

    /// <summary>The kernels' arguments for a batch of <paramref name="rows"/> (the batch-mean loss: gradients scaled by
    /// 1/rows) with the VAE's KL weight and noise seed.</summary>
    public DenseStepArgs Arguments(int rows, float klWeight, ulong seed)
    {
        int tiles0 = Tiles(Hidden, Features), tiles1 = Tiles(EncoderOut, Hidden), tiles2 = Tiles(Hidden, Latent);
        return new DenseStepArgs
        {
            Rows = rows, Features = Features, Hidden = Hidden, EncoderOut = EncoderOut, Latent = Latent,
            Variational = Variational ? 1 : 0, CodeRelu = CodeRelu ? 1 : 0,
            GradScale = 1f / rows, KlWeight = klWeight, KlWeightOverRows = klWeight / rows, Seed = seed,
            W0 = W0, B0 = B0, W1 = W1, B1 = B1, W2 = W2, B2 = B2, W3 = W3, B3 = B3,
            X = X, H1 = H1, Enc = Enc, Z = Variational ? Z : Enc, H2 = H2, DLogits = DLogits, DH2 = DH2, DEnc = DEnc, DH1 = DH1,
            RowBce = RowBce, RowKl = RowKl, T0 = T0, T1 = T1, T2 = T2, T3 = T3,
            Tiles1 = tiles0, Tiles2 = tiles0 + tiles1, Tiles3 = tiles0 + tiles1 + tiles2, LossGroup = UpdateGroups - 1,
        };
    }
}

/// <summary>What the fused kernels read: the widths, the per-batch constants, and offsets into the parameter buffer
/// (W0…B3) and the work buffer (X…RowKl; T0…T3: the weights transposed); see <see cref="DenseStepLayout"/>, which fills it. Z is the decoder's input:
/// the VAE's sample, or the AE's code (= Enc). Tiles1…Tiles3: the update launch's first group of layers 1, 2 and 3;
/// LossGroup: its last group, which sums the batch's loss.</summary>
public struct DenseStepArgs
{
    public int Rows, Features, Hidden, EncoderOut, Latent, Variational, CodeRelu;
    public float GradScale, KlWeight, KlWeightOverRows;
    public ulong Seed;
    public int W0, B0, W1, B1, W2, B2, W3, B3;
    public int X, H1, Enc, Z, H2, DLogits, DH2, DEnc, DH1, RowBce, RowKl, T0, T1, T2, T3;
    public int Tiles1, Tiles2, Tiles3, LossGroup;

    /// <summary>Layer l (0…3: encoder.0, encoder.2, decoder.0, decoder.2): its shape, where its weight, bias and Wᵀ
    /// are, and the output gradient and input whose product is its weight gradient. The one table both
    /// <see cref="FusedDense.TransposeWeights"/> and <see cref="FusedDense.StepUpdate"/> read.</summary>
    public readonly DenseStepLayer Layer(int l) =>
        l == 0 ? new() { Outputs = Hidden, Inputs = Features, W = W0, B = B0, T = T0, Dy = DH1, X = X }
        : l == 1 ? new() { Outputs = EncoderOut, Inputs = Hidden, W = W1, B = B1, T = T1, Dy = DEnc, X = H1 }
        : l == 2 ? new() { Outputs = Hidden, Inputs = Latent, W = W2, B = B2, T = T2, Dy = DH2, X = Z }
        : new() { Outputs = Features, Inputs = Hidden, W = W3, B = B3, T = T3, Dy = DLogits, X = H2 };
}

/// <summary>One layer of <see cref="DenseStepArgs.Layer"/>: W[Outputs, Inputs] at W, its bias at B and Wᵀ at T (the
/// parameter and work buffers), and the work buffer's dY[rows, Outputs] at Dy and X[rows, Inputs] at X.</summary>
public struct DenseStepLayer
{
    public int Outputs, Inputs, W, B, T, Dy, X;
}

/// <summary>
/// A whole training step of the dense AE or VAE, Adam included, in three launches instead of fourteen or more (on an
/// H200 the unfused step is a row of short kernels, launch- and latency-bound: BENCHMARKS.md).
/// <list type="number">
/// <item><see cref="TransposeWeights"/>: the weights as Wᵀ, for reads that neighbouring threads share.</item>
/// <item><see cref="StepRows"/>: one group of 256 threads owns <see cref="RowsPerGroup"/> rows of the batch and takes
/// them through everything that is row by row: the gather from the shuffled order, the four layers' forward passes, the
/// VAE's sampling, sigmoid + BCE, and the input gradients back to the first hidden layer, all in shared memory (the
/// weights, 1.7 MB for the AE, are read through the caches). It writes what the weight gradients need to the work buffer.</item>
/// <item><see cref="StepUpdate"/>: each group takes one 32 × 32 tile of one layer's weight gradient dW = dYᵀ·X over the
/// batch (the shared-memory GEMM's core, <see cref="Gemm.MultiplyGroupTile"/>), its bias gradient as the row sums of
/// dYᵀ, and applies Adam to those parameters at once; the last group adds the batch's loss to the running sum and
/// checks it (<see cref="NonFiniteWatch"/>).</item>
/// </list>
/// Same arithmetic as the unfused kernels up to the order of float sums. GPU kernel set only: on the CPU accelerator a
/// group barrier is an operating-system wait.
/// </summary>
public static class FusedDense
{
    /// <summary>Rows of the batch one group of <see cref="StepRows"/> owns (its threads compute all of them per weight read).</summary>
    public const int RowsPerGroup = 4;
    /// <summary>Threads per group of both kernels.</summary>
    public const int GroupSize = 256;
    /// <summary>Widths the shared buffers of <see cref="StepRows"/> hold.</summary>
    public const int MaxFeatures = 1024, MaxHidden = 512, MaxEncoderOut = 64;
    /// <summary>Bytes of shared memory <see cref="StepRows"/> takes: 4 × (1024 + 2·512 + 64 + 2·32 + 256) floats.</summary>
    public const int SharedBytes = sizeof(float) * R * (MaxFeatures + 2 * MaxHidden + MaxEncoderOut + 2 * MaxLatent + GroupSize);
    const int MaxLatent = MaxEncoderOut / 2; // the VAE's; the AE's code stays in the encoder-output buffer
    const int R = RowsPerGroup;

    /// <summary>
    /// work[T_l + i·out + j] = p[W_l + j·in + i]: every layer's W[out, in] copied transposed, the step's first launch
    /// (grid-stride over <see cref="DenseStepLayout.WeightCount"/> threads). In W's own layout a forward pass has each
    /// thread walk its own row: the 32 threads of a warp then touch 32 cache lines per load (~100 µs of L1 traffic for
    /// one 784-wide layer by one group, estimated); in Wᵀ neighbouring threads read neighbouring floats. Copied every
    /// step (1.7 MB), not kept up to date by the update, so that nothing that writes the parameters can leave it stale.
    /// </summary>
    public static void TransposeWeights(Index1D thread, int threads, DenseStepArgs a, ArrayView<float> p, ArrayView<float> work)
    {
        int F = a.Features, H = a.Hidden, E = a.EncoderOut, D = a.Latent;
        int end0 = H * F, end1 = end0 + E * H, end2 = end1 + H * D, end3 = end2 + F * H;
        for (int e = thread; e < end3; e += threads)
        {
            int l = e >= end2 ? 3 : e >= end1 ? 2 : e >= end0 ? 1 : 0;
            int at = e - (l == 3 ? end2 : l == 2 ? end1 : l == 1 ? end0 : 0);
            var layer = a.Layer(l);
            int j = at / layer.Inputs, i = at - j * layer.Inputs;
            work[layer.T + i * layer.Outputs + j] = p[layer.W + at];
        }
    }

    /// <summary>Launch with grid ceil(rows / <see cref="RowsPerGroup"/>) and group <see cref="GroupSize"/>. The batch's first
    /// row in the order and the step (the VAE's noise) are given at launch or read from the step record.</summary>
    public static void StepRows(DenseStepArgs a, ArrayView<float> data, ArrayView<int> order, ArrayView<int> record, StepNumber firstRow,
        StepNumber step, ArrayView<float> p, ArrayView<float> work)
    {
        var sx = SharedMemory.Allocate<float>(R * MaxFeatures);   // the images, then dLogits
        var sh1 = SharedMemory.Allocate<float>(R * MaxHidden);    // h1, then dh1
        var sh2 = SharedMemory.Allocate<float>(R * MaxHidden);    // h2, then dh2
        var se = SharedMemory.Allocate<float>(R * MaxEncoderOut); // encoder output (code, or μ | log σ²), then its gradient
        var sz = SharedMemory.Allocate<float>(R * MaxLatent);     // the VAE's z, then dz
        var sn = SharedMemory.Allocate<float>(R * MaxLatent);     // the VAE's noise
        var partials = SharedMemory.Allocate<float>(R * GroupSize);     // per row: the threads' BCE sums
        int t = Group.IdxX, r0 = Grid.IdxX * R, rowsHere = Math.Min(R, a.Rows - r0);
        int F = a.Features, H = a.Hidden, E = a.EncoderOut, D = a.Latent;

        // The batch's rows, gathered from the shuffled order (zeros past the batch's end), kept for dW of layer 0.
        int start = (int)firstRow.In(record);
        int o0 = Source(order, start, r0, 0, rowsHere), o1 = Source(order, start, r0, 1, rowsHere);
        int o2 = Source(order, start, r0, 2, rowsHere), o3 = Source(order, start, r0, 3, rowsHere);
        for (int i = t; i < R * F; i += 4 * GroupSize) // four loads in flight before the stores
        {
            float v0 = Pixel(data, F, i, o0, o1, o2, o3), v1 = Pixel(data, F, i + GroupSize, o0, o1, o2, o3);
            float v2 = Pixel(data, F, i + 2 * GroupSize, o0, o1, o2, o3), v3 = Pixel(data, F, i + 3 * GroupSize, o0, o1, o2, o3);
            KeepPixel(a, i, v0, sx, work, r0, rowsHere); KeepPixel(a, i + GroupSize, v1, sx, work, r0, rowsHere);
            KeepPixel(a, i + 2 * GroupSize, v2, sx, work, r0, rowsHere); KeepPixel(a, i + 3 * GroupSize, v3, sx, work, r0, rowsHere);
        }
        Group.Barrier();

        // ---- forward ----
        RowsTimes(t, sx, F, work, a.T0, H, 1, H, p, a.B0, Relu, sh1, work, a.H1 + r0 * H, rowsHere);
        Group.Barrier();
        RowsTimes(t, sh1, H, work, a.T1, E, 1, E, p, a.B1, a.CodeRelu != 0 ? Relu : None, se, work, a.Enc + r0 * E, rowsHere);
        Group.Barrier();
        var decoderInput = se;
        if (a.Variational != 0)
        {
            ulong stream = Sampling.StepStream(step.In(record));
            for (int i = t; i < R * D; i += GroupSize)
            {
                int r = i / D, c = i - r * D;
                float noise = Sampling.Normal(a.Seed, stream, (ulong)((r0 + r) * D + c)); // as NormalNoise numbers the batch
                float z = Sampling.Sample(se[r * E + c], se[r * E + D + c], noise);
                sn[i] = noise;
                sz[i] = z;
                if (r < rowsHere) work[a.Z + (r0 + r) * D + c] = z;
            }
            Group.Barrier();
            decoderInput = sz;
        }
        RowsTimes(t, decoderInput, D, work, a.T2, H, 1, H, p, a.B2, Relu, sh2, work, a.H2 + r0 * H, rowsHere);
        Group.Barrier();
        LogitsAndLoss(t, a, p, sh2, sx, partials, work, r0, rowsHere); // ends with a barrier

        // ---- backward: input gradients; the ReLU masks are the activations they overwrite ----
        RowsTimes(t, sx, F, p, a.W3, H, 1, H, p, -1, Mask, sh2, work, a.DH2 + r0 * H, rowsHere);
        Group.Barrier();
        if (a.Variational != 0)
        {
            RowsTimes(t, sh2, H, p, a.W2, D, 1, D, p, -1, None, sz, work, -1, rowsHere);
            Group.Barrier();
            if (t < rowsHere) ReparameterizeBackwardRow(a, t, se, sz, sn, work, r0);
        }
        else RowsTimes(t, sh2, H, p, a.W2, D, 1, D, p, -1, a.CodeRelu != 0 ? Mask : None, se, work, a.DEnc + r0 * E, rowsHere);
        Group.Barrier();
        RowsTimes(t, se, E, p, a.W1, H, 1, H, p, -1, Mask, sh1, work, a.DH1 + r0 * H, rowsHere);
    }

    /// <summary>The data row of the group's row r: order[start + r0 + r], or −1 past the batch's end.</summary>
    static int Source(ArrayView<int> order, int start, int r0, int r, int rowsHere) => r < rowsHere ? order[start + r0 + r] : -1;

    /// <summary>Element i of the group's R × F images: data[source row, i % F], 0 past the batch's end or past R × F.</summary>
    static float Pixel(ArrayView<float> data, int F, int i, int o0, int o1, int o2, int o3)
    {
        int r = i / F;
        int source = r == 0 ? o0 : r == 1 ? o1 : r == 2 ? o2 : r == 3 ? o3 : -1;
        return source >= 0 ? data[source * F + i - r * F] : 0f;
    }

    static void KeepPixel(DenseStepArgs a, int i, float value, ArrayView<float> sx, ArrayView<float> work, int r0, int rowsHere)
    {
        if (i >= R * a.Features) return;
        sx[i] = value;
        int r = i / a.Features;
        if (r < rowsHere) work[a.X + r0 * a.Features + i] = value;
    }

    const int None = 0, Relu = 1, Mask = 2;

    /// <summary>
    /// c[r, n] = epilogue(Σ_k s[r·K + k] · B(k, n)) for the group's R rows and n &lt; N, with B(k, n) = w[wAt + k·strideK +
    /// n·strideN], k in order: the forward passes read Wᵀ[in, out] from the work buffer, the input gradients W[out, in]
    /// from the parameters, both with strides (out, 1), so that neighbouring threads (neighbouring n) read neighbouring
    /// floats. Epilogue: + bias[biasAt + n] when biasAt ≥ 0, then ReLU, or Mask: keep where c's current value (the ReLU
    /// output the gradient flows back through) is &gt; 0. Rows below rowsHere are also written to global[globalAt + r·N + n]
    /// when globalAt ≥ 0. Wide outputs give a thread a column for all R rows (one weight read per R multiply-adds);
    /// narrow ones a (row, column) each, so that more threads work.
    /// </summary>
    static void RowsTimes(int t, ArrayView<float> s, int K, ArrayView<float> w, int wAt, int strideK, int strideN, int N,
        ArrayView<float> bias, int biasAt, int epilogue, ArrayView<float> c, ArrayView<float> global, int globalAt, int rowsHere)
    {
        if (N >= GroupSize / 2)
        {
            for (int n = t; n < N; n += GroupSize)
            {
                var sums = Column4(s, K, w, wAt + n * strideN, strideK);
                Finish(0, n, sums.E0, bias, biasAt, epilogue, c, N, global, globalAt, rowsHere);
                Finish(1, n, sums.E1, bias, biasAt, epilogue, c, N, global, globalAt, rowsHere);
                Finish(2, n, sums.E2, bias, biasAt, epilogue, c, N, global, globalAt, rowsHere);
                Finish(3, n, sums.E3, bias, biasAt, epilogue, c, N, global, globalAt, rowsHere);
            }
            return;
        }
        for (int i = t; i < R * N; i += GroupSize)
        {
            int r = i / N, n = i - r * N;
            Finish(r, n, Row1(s.SubView(r * K), K, w, wAt + n * strideN, strideK), bias, biasAt, epilogue, c, N, global, globalAt, rowsHere);
        }
    }

    // The weight loops. A GPU thread waits at the first use of a value it loads, and ILGPU does not unroll loops: one
    // weight at a time, every step would wait a round trip to L2 (~0.3–0.5 µs: 784 of them for the last layer's input
    // gradient, whose weights no thread reads twice). With one group of 256 threads on a multiprocessor, the loads in
    // flight set the pace (Little's law: ~64 B a cycle needs ~32 KB in flight at ~500 cycles). So 64 weights are
    // loaded before any is used (64 KB in flight per group), then 8 at a time for the rest; the multiply-adds still go
    // in k order.

    /// <summary>Σ_k s[r·K + k]·w[at + k·strideK] for the four rows r, k in order.</summary>
    static Vec4 Column4(ArrayView<float> s, int K, ArrayView<float> w, int at, int strideK)
    {
        var sums = new Vec4();
        int k = 0;
        for (; k + Weights64.Length <= K; k += Weights64.Length)
        {
            var b = Weights64.Load(w, at + k * strideK, strideK);
            sums = Dot8Rows(sums, s, K, k, b.B0); sums = Dot8Rows(sums, s, K, k + 8, b.B1);
            sums = Dot8Rows(sums, s, K, k + 16, b.B2); sums = Dot8Rows(sums, s, K, k + 24, b.B3);
            sums = Dot8Rows(sums, s, K, k + 32, b.B4); sums = Dot8Rows(sums, s, K, k + 40, b.B5);
            sums = Dot8Rows(sums, s, K, k + 48, b.B6); sums = Dot8Rows(sums, s, K, k + 56, b.B7);
        }
        for (; k + Vec8.Length <= K; k += Vec8.Length) sums = Dot8Rows(sums, s, K, k, Load8(w, at + k * strideK, strideK));
        for (; k < K; k++)
        {
            float b = w[at + k * strideK];
            sums.E0 += s[k] * b; sums.E1 += s[K + k] * b; sums.E2 += s[2 * K + k] * b; sums.E3 += s[3 * K + k] * b;
        }
        return sums;
    }

    static Vec4 Dot8Rows(Vec4 sums, ArrayView<float> s, int K, int k, in Vec8 b) => new()
    {
        E0 = Dot8(sums.E0, s.SubView(k), b), E1 = Dot8(sums.E1, s.SubView(K + k), b),
        E2 = Dot8(sums.E2, s.SubView(2 * K + k), b), E3 = Dot8(sums.E3, s.SubView(3 * K + k), b),
    };

    /// <summary>Σ_k s[k]·w[at + k·strideK], k in order, as <see cref="Column4"/> loads them.</summary>
    static float Row1(ArrayView<float> s, int K, ArrayView<float> w, int at, int strideK)
    {
        float sum = 0f;
        int k = 0;
        for (; k + Weights64.Length <= K; k += Weights64.Length)
        {
            var b = Weights64.Load(w, at + k * strideK, strideK);
            sum = Dot8(sum, s.SubView(k), b.B0); sum = Dot8(sum, s.SubView(k + 8), b.B1);
            sum = Dot8(sum, s.SubView(k + 16), b.B2); sum = Dot8(sum, s.SubView(k + 24), b.B3);
            sum = Dot8(sum, s.SubView(k + 32), b.B4); sum = Dot8(sum, s.SubView(k + 40), b.B5);
            sum = Dot8(sum, s.SubView(k + 48), b.B6); sum = Dot8(sum, s.SubView(k + 56), b.B7);
        }
        for (; k + Vec8.Length <= K; k += Vec8.Length) sum = Dot8(sum, s.SubView(k), Load8(w, at + k * strideK, strideK));
        for (; k < K; k++) sum += s[k] * w[at + k * strideK];
        return sum;
    }

    /// <summary>64 consecutive weights along k, loaded before any is used.</summary>
    struct Weights64
    {
        public const int Length = 8 * Vec8.Length;
        public Vec8 B0, B1, B2, B3, B4, B5, B6, B7;

        public static Weights64 Load(ArrayView<float> w, int at, int stride) => new()
        {
            B0 = Load8(w, at, stride), B1 = Load8(w, at + 8 * stride, stride), B2 = Load8(w, at + 16 * stride, stride),
            B3 = Load8(w, at + 24 * stride, stride), B4 = Load8(w, at + 32 * stride, stride), B5 = Load8(w, at + 40 * stride, stride),
            B6 = Load8(w, at + 48 * stride, stride), B7 = Load8(w, at + 56 * stride, stride),
        };
    }

    static Vec8 Load8(ArrayView<float> w, int at, int stride) => new(w[at], w[at + stride], w[at + 2 * stride], w[at + 3 * stride],
        w[at + 4 * stride], w[at + 5 * stride], w[at + 6 * stride], w[at + 7 * stride]);

    /// <summary>sum + s[0]·b.E0 + … + s[7]·b.E7, added in that order.</summary>
    static float Dot8(float sum, ArrayView<float> s, in Vec8 b)
    {
        sum += s[0] * b.E0; sum += s[1] * b.E1; sum += s[2] * b.E2; sum += s[3] * b.E3;
        sum += s[4] * b.E4; sum += s[5] * b.E5; sum += s[6] * b.E6; sum += s[7] * b.E7;
        return sum;
    }

    static void Finish(int r, int n, float v, ArrayView<float> bias, int biasAt, int epilogue, ArrayView<float> c, int N,
        ArrayView<float> global, int globalAt, int rowsHere)
    {
        if (biasAt >= 0) v += bias[biasAt + n];
        if (epilogue == Relu) v = Rows.Relu(v);
        if (epilogue == Mask) v = Rows.KeepWherePositive(v, c[r * N + n]);
        c[r * N + n] = v;
        if (globalAt >= 0 && r < rowsHere) global[globalAt + r * N + n] = v;
    }

    /// <summary>The last layer (Hidden → Features logits, from Wᵀ) and the loss on it, as <see cref="Loss.SigmoidBceRows"/>
    /// (less the squared error, which training does not read): each thread takes a pixel column for the R rows, turns
    /// its logit into the BCE against the image in sx and writes dLogit = (sigmoid − x)/rows over the image (the same
    /// thread read it); per row the partial sums are added in a fixed order (<see cref="SumPartials"/>).</summary>
    static void LogitsAndLoss(int t, DenseStepArgs a, ArrayView<float> p, ArrayView<float> sh2, ArrayView<float> sx, ArrayView<float> partials,
        ArrayView<float> work, int r0, int rowsHere)
    {
        int F = a.Features, H = a.Hidden;
        var bce = new Vec4();
        for (int n = t; n < F; n += GroupSize)
        {
            var logits = Column4(sh2, H, work, a.T3 + n, F);
            float bias = p[a.B3 + n];
            bce.E0 += PixelLoss(a, 0, n, logits.E0 + bias, sx, work, r0, rowsHere);
            bce.E1 += PixelLoss(a, 1, n, logits.E1 + bias, sx, work, r0, rowsHere);
            bce.E2 += PixelLoss(a, 2, n, logits.E2 + bias, sx, work, r0, rowsHere);
            bce.E3 += PixelLoss(a, 3, n, logits.E3 + bias, sx, work, r0, rowsHere);
        }
        partials[t] = bce.E0; partials[GroupSize + t] = bce.E1; partials[2 * GroupSize + t] = bce.E2; partials[3 * GroupSize + t] = bce.E3;
        SumPartials(t, partials, R);
        if (t < rowsHere) work[a.RowBce + r0 + t] = partials[t * GroupSize];
    }

    /// <summary>One pixel's BCE; its logit's gradient replaces the image's pixel in sx (the same thread read it).</summary>
    static float PixelLoss(DenseStepArgs a, int r, int n, float logit, ArrayView<float> sx, ArrayView<float> work, int r0, int rowsHere)
    {
        int at = r * a.Features + n;
        float bce = Loss.PixelBce(logit, sx[at], out float diff);
        float gradient = diff * a.GradScale;
        sx[at] = gradient;
        if (r < rowsHere) work[a.DLogits + (r0 + r) * a.Features + n] = gradient;
        return bce;
    }

    /// <summary>partials[q·256] = Σ_i partials[q·256 + i] over i &lt; 256 for each quantity q &lt; quantities (≤ 16), in a
    /// fixed order (so reruns are bit-identical): 16 threads per quantity each add every 16th (thread j: j, j + 16, …;
    /// neighbouring threads read neighbouring banks), then one adds those 16. Three barriers rather than a tree's eight;
    /// the caller has stored the partials, the last barrier makes the sums visible.</summary>
    static void SumPartials(int t, ArrayView<float> partials, int quantities)
    {
        Group.Barrier();
        if (t < quantities * 16)
        {
            int at = t / 16 * GroupSize + t % 16;
            float sum = partials[at];
            for (int i = 1; i < 16; i++) sum += partials[at + i * 16];
            partials[at] = sum;
        }
        Group.Barrier();
        if (t < quantities)
        {
            int at = t * GroupSize;
            float sum = partials[at];
            for (int i = 1; i < 16; i++) sum += partials[at + i];
            partials[at] = sum;
        }
        Group.Barrier();
    }

    /// <summary>Row r of the group: the VAE's encoder-output gradient from dz by <see cref="Sampling.SampleBackwardRow"/>, as
    /// <see cref="Sampling.ReparameterizeBackward"/> (se: μ | log σ², overwritten in place by dμ | dlog σ², then copied to
    /// the work buffer), and the row's KL.</summary>
    static void ReparameterizeBackwardRow(DenseStepArgs a, int r, ArrayView<float> se, ArrayView<float> sz, ArrayView<float> sn,
        ArrayView<float> work, int r0)
    {
        int D = a.Latent, E = a.EncoderOut;
        var encoderOutput = se.Row(r, E);
        work[a.RowKl + r0 + r] = Sampling.SampleBackwardRow(encoderOutput, sn.Row(r, D), sz.Row(r, D), encoderOutput, D, a.KlWeightOverRows);
        for (int j = 0; j < E; j++) work[a.DEnc + (r0 + r) * E + j] = se[r * E + j];
    }

    /// <summary>
    /// Launch with grid <see cref="DenseStepLayout.UpdateGroups"/> and group (16, 16). Group i &lt; LossGroup: one 32 × 32
    /// tile of one layer's dW[out, in] = dY[rows, out]ᵀ · X[rows, in] from the work buffer, and for the first column of
    /// tiles its rows of db = Σ_rows dY; each gradient is stored in g (for checks and tests) and its parameter
    /// updated by Adam at once. The last group adds Σ rowBce + klWeight·Σ rowKl to sums[check.Slot] and flags a
    /// non-finite sum. Adam's bias corrections and the watch's step come from the launch or the step record.
    /// </summary>
    public static void StepUpdate(DenseStepArgs a, ArrayView<float> p, ArrayView<float> g, ArrayView<float> m, ArrayView<float> v, AdamStep s,
        ArrayView<float> work, ArrayView<float> sums, ArrayView<int> flag, NonFiniteCheck check, ArrayView<int> record, AdamSource source)
    {
        var sharedA = SharedMemory.Allocate<float>(Gemm.SharedTileLength);
        var sharedB = SharedMemory.Allocate<float>(Gemm.SharedTileLength);
        source.Resolve(new ViewElements<int>(record), ref s, ref check);
        int group = Grid.IdxX;
        if (group == a.LossGroup)
        {
            SumLoss(a, work, sharedA, sums, flag, check);
            return;
        }
        // Which layer: its sizes, parameters, and the gradient and input it multiplies.
        int l = group >= a.Tiles3 ? 3 : group >= a.Tiles2 ? 2 : group >= a.Tiles1 ? 1 : 0;
        int first = l == 3 ? a.Tiles3 : l == 2 ? a.Tiles2 : l == 1 ? a.Tiles1 : 0;
        var layer = a.Layer(l);
        int outputs = layer.Outputs, inputs = layer.Inputs, wAt = layer.W, bAt = layer.B, dyAt = layer.Dy, xAt = layer.X;
        int tilesN = (inputs + Gemm.GroupTile - 1) / Gemm.GroupTile, tile = group - first;
        int tm = tile / tilesN, tn = tile - tm * tilesN;
        var gemm = GemmArgs.BackwardWeights(a.Rows, inputs, outputs, GemmEpilogue.RowSums);
        int m0 = tm * Gemm.GroupTile, n0 = tn * Gemm.GroupTile;
        var products = Gemm.MultiplyGroupTile(gemm, work.SubView(dyAt), work.SubView(xAt), m0, n0, 0, a.Rows, sharedA, sharedB);
        int tx = Group.IdxX, ty = Group.IdxY;
        int mA = m0 + ty, mB = mA + Gemm.GroupThreads, nA = n0 + tx, nB = nA + Gemm.GroupThreads;
        if (mA < outputs && nA < inputs) Update(wAt + mA * inputs + nA, products.C00, p, g, m, v, s);
        if (mA < outputs && nB < inputs) Update(wAt + mA * inputs + nB, products.C01, p, g, m, v, s);
        if (mB < outputs && nA < inputs) Update(wAt + mB * inputs + nA, products.C10, p, g, m, v, s);
        if (mB < outputs && nB < inputs) Update(wAt + mB * inputs + nB, products.C11, p, g, m, v, s);
        if (tn == 0 && tx == 0)
        {
            if (mA < outputs) Update(bAt + mA, products.RowSum0, p, g, m, v, s);
            if (mB < outputs) Update(bAt + mB, products.RowSum1, p, g, m, v, s);
        }
    }

    static void Update(int i, float gradient, ArrayView<float> p, ArrayView<float> g, ArrayView<float> m, ArrayView<float> v, AdamStep s)
    {
        g[i] = gradient;
        AdamKernels.Apply(i, gradient, new ViewElements<float>(p), new ViewElements<float>(m), new ViewElements<float>(v), s);
    }

    /// <summary>sums[slot] += Σ rowBce + klWeight·Σ rowKl over the batch (strided partial sums, then <see cref="SumPartials"/>), then
    /// the watch's check of the running sum.</summary>
    static void SumLoss(DenseStepArgs a, ArrayView<float> work, ArrayView<float> partials, ArrayView<float> sums, ArrayView<int> flag,
        NonFiniteCheck check)
    {
        int t = Group.IdxY * Gemm.GroupThreads + Group.IdxX;
        float bce = 0f, kl = 0f;
        for (int r = t; r < a.Rows; r += GroupSize)
        {
            bce += work[a.RowBce + r];
            if (a.Variational != 0) kl += work[a.RowKl + r];
        }
        partials[t] = bce;
        partials[GroupSize + t] = kl;
        SumPartials(t, partials, 2);
        if (t == 0)
        {
            sums[check.Slot] += partials[0] + a.KlWeight * partials[GroupSize];
            if (check.Enabled != 0) Loss.FlagIfNonFinite(sums[check.Slot], new ViewElements<int>(flag), check.Step);
        }
    }
}
