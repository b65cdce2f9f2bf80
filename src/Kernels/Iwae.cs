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
    /// <summary>logWeights[sample, r] = −BCE_r − ½Σ z² + ½Σ ε² + ½Σ log σ², which is log p(x|z) + log N(z; 0, I)
    /// − log N(z; μ, σ²) with the (2π) terms cancelled. Grid-stride over the rows (see <see cref="Sampling.Reparameterize"/>).</summary>
    public static void LogWeights(Index1D thread, int threads, ArrayView<float> enc, ArrayView<float> noise, ArrayView<float> z,
        ArrayView<float> rowBce, ArrayView<float> logWeights, int sample, int rows, int latent)
    {
        for (int r = thread; r < rows; r += threads)
        {
            float logWeight = -rowBce[r];
            for (int j = 0; j < latent; j++)
            {
                float zj = z[r * latent + j], ej = noise[r * latent + j];
                float logVariance = Sampling.ClampLogVariance(enc[r * 2 * latent + latent + j]);
                logWeight += 0.5f * (ej * ej - zj * zj + logVariance);
            }
            logWeights[sample * rows + r] = logWeight;
        }
    }

    /// <summary>rowBound[r] = −(log Σ_s exp(logWeights[s, r]) − log k), by the max-shift log-sum-exp so no exponential
    /// overflows. Grid-stride over the rows.</summary>
    public static void NegativeLogMeanExp(Index1D thread, int threads, ArrayView<float> logWeights, int samples, int rows, ArrayView<float> rowBound)
    {
        for (int r = thread; r < rows; r += threads)
        {
            float max = logWeights[r];
            for (int s = 1; s < samples; s++) max = MathF.Max(max, logWeights[s * rows + r]);
            float sum = 0f;
            for (int s = 0; s < samples; s++) sum += MathF.Exp(logWeights[s * rows + r] - max);
            rowBound[r] = -(max + MathF.Log(sum) - MathF.Log((float)samples));
        }
    }
}
