using ILGPU;
using ILGPU.Runtime;

namespace GpuAe.Kernels;

/// <summary>
/// The importance-weighted bound (Burda et al., 2016) of a VAE: −log (1/k) Σ_s p(x|z_s)·p(z_s)/q(z_s|x) with
/// z_s = μ + σ·ε_s. Here log p(x|z) is −BCE, which for grey-level pixels is not a normalised density: the result is
/// the IWAE bound on the BCE objective, in nats per image, comparable with the test loss, not a true NLL.
/// </summary>
public static class Iwae
{
    /// <summary>logWeights[sample, r] = <see cref="LogWeight"/> of row r. Grid-stride over the rows (see <see cref="Sampling.Reparameterize"/>).</summary>
    public static void LogWeights(Index1D thread, int threads, ArrayView<float> enc, ArrayView<float> noise, ArrayView<float> z,
        ArrayView<float> rowBce, ArrayView<float> logWeights, int sample, int rows, int latent)
    {
        for (int r = thread; r < rows; r += threads)
            logWeights[sample * rows + r] = LogWeight(rowBce[r], enc.Row(r, 2 * latent), noise.Row(r, latent), z.Row(r, latent), latent);
    }

    /// <summary>One row's log-weight −BCE − ½Σ z² + ½Σ ε² + ½Σ log σ², which is log p(x|z) + log N(z; 0, I)
    /// − log N(z; μ, σ²) with the (2π) terms cancelled; enc: the row's μ | log σ² (log σ² clamped), noise and z: its ε and z.</summary>
    public static float LogWeight<TFloats>(float rowBce, TFloats enc, TFloats noise, TFloats z, int latent) where TFloats : struct, IElements<float>
    {
        float logWeight = -rowBce;
        for (int j = 0; j < latent; j++)
        {
            float zj = z[j], ej = noise[j];
            logWeight += 0.5f * (ej * ej - zj * zj + Sampling.ClampLogVariance(enc[latent + j]));
        }
        return logWeight;
    }

    /// <summary>rowBound[r] = <see cref="NegativeLogMeanExpRow"/> of row r's samples. Grid-stride over the rows.</summary>
    public static void NegativeLogMeanExp(Index1D thread, int threads, ArrayView<float> logWeights, int samples, int rows, ArrayView<float> rowBound)
    {
        for (int r = thread; r < rows; r += threads) rowBound[r] = NegativeLogMeanExpRow(logWeights.From(r), samples, rows);
    }

    /// <summary>−(log Σ_s exp(logWeights[s·stride]) − log k) over the k = <paramref name="samples"/> log-weights, by the
    /// max-shift log-sum-exp so no exponential overflows.</summary>
    public static float NegativeLogMeanExpRow<TFloats>(TFloats logWeights, int samples, int stride) where TFloats : struct, IElements<float>
    {
        float max = logWeights[0];
        for (int s = 1; s < samples; s++) max = MathF.Max(max, logWeights[s * stride]);
        float sum = 0f;
        for (int s = 0; s < samples; s++) sum += MathF.Exp(logWeights[s * stride] - max);
        return -(max + MathF.Log(sum) - MathF.Log((float)samples));
    }
}
