using GpuAe.Kernels;

namespace GpuAe.Simd;

/// <summary>
/// The host backend: every <see cref="IBackend"/> operation in plain C# with System.Runtime.Intrinsics vectors
/// (AVX-512, AVX2 or scalar, chosen once) and Parallel.For over fixed row blocks. Work is split so that each
/// output is computed by one thread in a fixed order: results do not depend on the number of threads. It shares
/// the counter-based noise with the ILGPU kernels, so a seed gives the same ε on every backend.
/// </summary>
public sealed class SimdBackend : IBackend
{
    readonly VectorPath _path;
    readonly int _threads;
    float[] _transposed = [];

    public SimdBackend(VectorPath? path = null, int? threads = null)
    {
        _path = path ?? VectorPaths.Best;
        _threads = Math.Max(1, threads ?? Environment.ProcessorCount);
    }

    public VectorPath Path => _path;
    public string DeviceName => $"SIMD host backend ({_path}, {VectorPaths.Width(_path)} floats, {_threads} threads)";

    // ---- memory: tensors are slices of plain arrays ----------------------------------------------------------

    static float[] A(Tensor t) => (float[])t.Storage;
    static int[] A(IndexTensor t) => (int[])t.Storage;
    static Span<float> S(Tensor t) => A(t).AsSpan(t.Offset, t.Length);

    public Tensor Allocate(int length) => new(new float[length], 0, length);
    public IndexTensor AllocateIndices(int length) => new(new int[length], 0, length);
    public void Upload(Tensor destination, ReadOnlySpan<float> source) => source.CopyTo(S(destination));
    public void Upload(IndexTensor destination, ReadOnlySpan<int> source) => source.CopyTo(A(destination).AsSpan(destination.Offset, destination.Length));
    public void Download(Tensor source, Span<float> destination) => S(source)[..destination.Length].CopyTo(destination);
    public void Download(IndexTensor source, Span<int> destination) => A(source).AsSpan(source.Offset, destination.Length).CopyTo(destination);
    public void Fill(Tensor destination, float value) => S(destination).Fill(value);
    public void Synchronize() { }
    public void Dispose() { }

    /// <summary>Runs body(start, end) over [0, count) split into at most one block per thread, block edges on multiples of
    /// <paramref name="align"/>.</summary>
    void ForBlocks(int count, int align, Action<int, int> body)
    {
        int units = (count + align - 1) / align;
        int blocks = Math.Min(_threads, units);
        if (blocks <= 1) { body(0, count); return; }
        Parallel.For(0, blocks, new ParallelOptions { MaxDegreeOfParallelism = _threads }, i =>
        {
            int start = (int)((long)units * i / blocks) * align, end = Math.Min(count, (int)((long)units * (i + 1) / blocks) * align);
            if (start < end) body(start, end);
        });
    }

    void Gemm(float[] a, int aOffset, int aStrideM, int aStrideK, float[] b, int bOffset, float[] c, int cOffset, int m, int n, int k) =>
        ForBlocks(m, SimdGemm.TileRows, (start, end) =>
        {
            switch (_path)
            {
                case VectorPath.Vector512: SimdGemm.Rows<Vec512>(a, aOffset, aStrideM, aStrideK, b, bOffset, c, cOffset, n, k, start, end); break;
                case VectorPath.Vector256: SimdGemm.Rows<Vec256>(a, aOffset, aStrideM, aStrideK, b, bOffset, c, cOffset, n, k, start, end); break;
                default: SimdGemm.Rows<Vec1>(a, aOffset, aStrideM, aStrideK, b, bOffset, c, cOffset, n, k, start, end); break;
            }
        });

    // ---- dense layers ----------------------------------------------------------------------------------------

    public void DenseForward(Tensor x, Tensor w, Tensor b, Tensor y, int rows, int inFeatures, int outFeatures, Activation activation)
    {
        // The GEMM streams B along its rows, so W[out, in] is first transposed to Wᵀ[in, out] (0.2 M floats: cheap
        // next to the 2·rows·in·out flops that then run at full vector width).
        if (_transposed.Length < inFeatures * outFeatures) _transposed = new float[inFeatures * outFeatures];
        var wv = S(w);
        for (int o = 0; o < outFeatures; o++)
            for (int i = 0; i < inFeatures; i++) _transposed[i * outFeatures + o] = wv[o * inFeatures + i];
        Gemm(A(x), x.Offset, inFeatures, 1, _transposed, 0, A(y), y.Offset, rows, outFeatures, inFeatures);
        var yv = A(y); var bv = S(b).ToArray();
        bool relu = activation == Activation.Relu;
        ForBlocks(rows, 1, (start, end) =>
        {
            for (int r = start; r < end; r++)
                for (int o = 0, at = y.Offset + r * outFeatures; o < outFeatures; o++, at++)
                {
                    float v = yv[at] + bv[o];
                    yv[at] = relu && !(v > 0f) ? 0f : v;
                }
        });
    }

    public void DenseBackwardInput(Tensor dy, Tensor w, Tensor dx, int rows, int inFeatures, int outFeatures, Tensor? reluOutput)
    {
        Gemm(A(dy), dy.Offset, outFeatures, 1, A(w), w.Offset, A(dx), dx.Offset, rows, inFeatures, outFeatures);
        if (reluOutput is not { } mask) return;
        var dxv = A(dx); var maskv = A(mask);
        ForBlocks(rows * inFeatures, 1024, (start, end) =>
        {
            for (int i = start; i < end; i++) if (!(maskv[mask.Offset + i] > 0f)) dxv[dx.Offset + i] = 0f;
        });
    }

    public void DenseBackwardParameters(Tensor dy, Tensor x, Tensor dw, Tensor db, int rows, int inFeatures, int outFeatures)
    {
        Gemm(A(dy), dy.Offset, 1, outFeatures, A(x), x.Offset, A(dw), dw.Offset, outFeatures, inFeatures, rows);
        var dyv = S(dy); var dbv = S(db);
        for (int o = 0; o < outFeatures; o++)
        {
            float sum = 0f;
            for (int r = 0; r < rows; r++) sum += dyv[r * outFeatures + o]; // rows in order, as the ILGPU kernel
            dbv[o] = sum;
        }
    }

    // ---- losses, optimiser, data -----------------------------------------------------------------------------

    public void SigmoidBce(Tensor logits, Tensor targets, Tensor dLogits, Tensor rowBce, Tensor rowSquaredError, int rows, int cols, float gradScale)
    {
        var l = A(logits); var x = A(targets); var d = A(dLogits); var bce = A(rowBce); var se = A(rowSquaredError);
        ForBlocks(rows, 1, (start, end) =>
        {
            for (int r = start; r < end; r++)
            {
                float sumBce = 0f, sumSe = 0f;
                for (int c = 0; c < cols; c++)
                {
                    int i = r * cols + c;
                    float li = l[logits.Offset + i], xi = x[targets.Offset + i];
                    float e = MathF.Exp(-MathF.Abs(li));                 // the same stable form as Loss.SigmoidBceRows
                    float s = li >= 0f ? 1f / (1f + e) : e / (1f + e);
                    sumBce += MathF.Max(li, 0f) - li * xi + MathF.Log(1f + e);
                    float diff = s - xi;
                    sumSe += diff * diff;
                    d[dLogits.Offset + i] = diff * gradScale;
                }
                bce[rowBce.Offset + r] = sumBce;
                se[rowSquaredError.Offset + r] = sumSe;
            }
        });
    }

    public void AccumulateSum(Tensor values, int count, Tensor accumulator, int slot, float scale = 1f)
    {
        var v = S(values);
        float sum = 0f;
        for (int i = 0; i < count; i++) sum += v[i];
        S(accumulator)[slot] += scale * sum;
    }

    public void FlagNonFinite(Tensor values, int slot, IndexTensor flag, long step)
    {
        var f = A(flag);
        if (!float.IsFinite(S(values)[slot]) && f[flag.Offset] == 0) f[flag.Offset] = (int)Math.Min(step, int.MaxValue);
    }

    public void Adam(Tensor parameters, Tensor gradients, Tensor firstMoment, Tensor secondMoment, AdamStep s)
    {
        var p = A(parameters); var g = A(gradients); var m = A(firstMoment); var v = A(secondMoment);
        ForBlocks(parameters.Length, 4096, (start, end) =>
        {
            for (int i = start; i < end; i++)
            {
                float grad = g[gradients.Offset + i];
                float mi = s.Beta1 * m[firstMoment.Offset + i] + (1f - s.Beta1) * grad;
                float vi = s.Beta2 * v[secondMoment.Offset + i] + (1f - s.Beta2) * grad * grad;
                m[firstMoment.Offset + i] = mi;
                v[secondMoment.Offset + i] = vi;
                p[parameters.Offset + i] -= s.LearningRate * (mi / s.BiasCorrection1) / (MathF.Sqrt(vi / s.BiasCorrection2) + s.Epsilon);
            }
        });
    }

    public void GatherRows(Tensor data, IndexTensor order, int start, int rows, int cols, Tensor destination)
    {
        var o = A(order);
        for (int r = 0; r < rows; r++)
            Array.Copy(A(data), data.Offset + o[order.Offset + start + r] * cols, A(destination), destination.Offset + r * cols, cols);
    }

    public void Sigmoid(Tensor x, Tensor y)
    {
        var xv = A(x); var yv = A(y);
        ForBlocks(y.Length, 1024, (start, end) =>
        {
            for (int i = start; i < end; i++) yv[y.Offset + i] = 1f / (1f + MathF.Exp(-xv[x.Offset + i]));
        });
    }

    // ---- the VAE: the same formulas as Sampling and Iwae, looped on the host -----------------------------------

    public void NormalNoise(Tensor noise, ulong seed, long step)
    {
        var n = A(noise);
        ForBlocks(noise.Length, 64, (start, end) =>
        {
            for (int i = start; i < end; i++) n[noise.Offset + i] = Sampling.Normal(seed, Sampling.NoiseStream + (ulong)step, (ulong)i);
        });
    }

    public void Reparameterize(Tensor enc, Tensor noise, Tensor z, int rows, int latent)
    {
        var e = S(enc); var n = S(noise); var zv = S(z);
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < latent; j++)
            {
                float logVariance = Sampling.ClampLogVariance(e[r * 2 * latent + latent + j]);
                zv[r * latent + j] = e[r * 2 * latent + j] + MathF.Exp(0.5f * logVariance) * n[r * latent + j];
            }
    }

    public void ReparameterizeBackward(Tensor enc, Tensor noise, Tensor dz, Tensor denc, Tensor rowKl, int rows, int latent, float klWeightOverRows)
    {
        var e = S(enc); var n = S(noise); var dzv = S(dz); var d = S(denc); var kl = S(rowKl);
        for (int r = 0; r < rows; r++)
        {
            float sum = 0f;
            for (int j = 0; j < latent; j++)
            {
                int muAt = r * 2 * latent + j, logVarAt = muAt + latent, zAt = r * latent + j;
                float mu = e[muAt], raw = e[logVarAt], logVariance = Sampling.ClampLogVariance(raw);
                float variance = MathF.Exp(logVariance), sigma = MathF.Exp(0.5f * logVariance);
                sum += Sampling.Kl(mu, logVariance);
                d[muAt] = dzv[zAt] + klWeightOverRows * mu;
                bool inside = raw >= Sampling.MinLogVariance && raw <= Sampling.MaxLogVariance;
                d[logVarAt] = inside ? dzv[zAt] * n[zAt] * 0.5f * sigma + klWeightOverRows * 0.5f * (variance - 1f) : 0f;
            }
            kl[r] = sum;
        }
    }

    public void KlRows(Tensor enc, Tensor rowKl, int rows, int latent)
    {
        var e = S(enc); var kl = S(rowKl);
        for (int r = 0; r < rows; r++)
        {
            float sum = 0f;
            for (int j = 0; j < latent; j++) sum += Sampling.Kl(e[r * 2 * latent + j], Sampling.ClampLogVariance(e[r * 2 * latent + latent + j]));
            kl[r] = sum;
        }
    }

    public void ImportanceLogWeights(Tensor enc, Tensor noise, Tensor z, Tensor rowBce, Tensor logWeights, int sample, int rows, int latent)
    {
        var e = S(enc); var n = S(noise); var zv = S(z); var bce = S(rowBce); var lw = S(logWeights);
        for (int r = 0; r < rows; r++)
        {
            float logWeight = -bce[r];
            for (int j = 0; j < latent; j++)
            {
                float zj = zv[r * latent + j], ej = n[r * latent + j];
                logWeight += 0.5f * (ej * ej - zj * zj + Sampling.ClampLogVariance(e[r * 2 * latent + latent + j]));
            }
            lw[sample * rows + r] = logWeight;
        }
    }

    public void NegativeLogMeanExp(Tensor logWeights, int samples, int rows, Tensor rowBound)
    {
        var lw = S(logWeights); var bound = S(rowBound);
        for (int r = 0; r < rows; r++)
        {
            float max = lw[r];
            for (int s = 1; s < samples; s++) max = MathF.Max(max, lw[s * rows + r]);
            float sum = 0f;
            for (int s = 0; s < samples; s++) sum += MathF.Exp(lw[s * rows + r] - max);
            bound[r] = -(max + MathF.Log(sum) - MathF.Log(samples));
        }
    }
}
