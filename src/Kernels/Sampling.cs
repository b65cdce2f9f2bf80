using ILGPU;
using ILGPU.Runtime;

namespace GpuAe.Kernels;

/// <summary>
/// The VAE's sampling family: normal noise from the counter-based generator, the reparameterisation
/// z = μ + σ·ε, its backward pass with the KL gradient added, and the KL per row.
/// The encoder's output enc[rows, 2D] holds μ in columns 0..D−1 and log σ² in columns D..2D−1.
/// </summary>
public static class Sampling
{
    /// <summary>log σ² is clamped to this range before use: exp(½·20) ≈ 2.2e4 and exp(20) ≈ 4.9e8 stay far from
    /// float overflow, and σ ≥ e^−15 keeps the noise from vanishing; outside the range the gradient is zero, as the
    /// clamp's derivative is. A well-behaved VAE on Fashion-MNIST stays within about [−10, 2].</summary>
    public const float MinLogVariance = -30f, MaxLogVariance = 20f;

    /// <summary>Keeps the noise streams apart from the streams used for initialisation and shuffling.</summary>
    public const ulong NoiseStream = 0x4E4F_4953_0000_0000UL;

    /// <summary>log σ² clamped to [<see cref="MinLogVariance"/>, <see cref="MaxLogVariance"/>]; NaN stays NaN, so that a
    /// diverged encoder reaches the loss and the NaN watch on every device. Written with comparisons: XMath.Clamp
    /// compiles to PTX min.f32/max.f32, which return the operand that is not NaN, so on a GPU it turned NaN into 20
    /// (and the step's loss stayed finite), while on the CPU Math.Min/Max kept it.</summary>
    public static float ClampLogVariance(float logVariance) =>
        logVariance < MinLogVariance ? MinLogVariance : logVariance > MaxLogVariance ? MaxLogVariance : logVariance;

    /// <summary>The noise stream of a training step (or of an evaluation sample): every noise of that step draws from it.</summary>
    public static ulong StepStream(long step) => NoiseStream + (ulong)step;

    /// <summary>Standard normal number <paramref name="index"/> of (seed, stream), by Box–Muller on two counter uniforms.</summary>
    public static float Normal(ulong seed, ulong stream, ulong index)
    {
        float u1 = CounterRandom.Uniform(seed, stream, 2 * index);
        float u2 = CounterRandom.Uniform(seed, stream, 2 * index + 1);
        return MathF.Sqrt(-2f * MathF.Log(u1)) * MathF.Cos(2f * MathF.PI * u2);
    }

    /// <summary>noise[i] = Normal(seed, NoiseStream + step, i): the same numbers on every device, for every rerun. The
    /// step is given at launch or read from the step record (see <see cref="StepNumber"/>).</summary>
    public static void NormalNoise(Index1D thread, int threads, ArrayView<float> noise, ulong seed, ArrayView<int> record, StepNumber step)
    {
        ulong stream = StepStream(step.In(record));
        for (int i = thread; i < noise.IntLength; i += threads)
            noise[i] = Normal(seed, stream, (ulong)i);
    }

    /// <summary>z = μ + exp(½·log σ²)·ε of one latent dimension, log σ² clamped: the sample of every backend.</summary>
    public static float Sample(float mu, float rawLogVariance, float noise) =>
        mu + MathF.Exp(0.5f * ClampLogVariance(rawLogVariance)) * noise;

    /// <summary>z[r, j] = <see cref="Sample"/>(μ[r, j], log σ²[r, j], ε[r, j]) over z[rows, D]; grid-stride over the elements.</summary>
    /// <remarks>The per-row kernels of this family and of <see cref="Iwae"/> are grid-stride loops for the reason given
    /// on <see cref="Rows"/>: the CPU accelerator pays microseconds per simulated thread group.</remarks>
    public static void Reparameterize(Index1D thread, int threads, ArrayView<float> enc, ArrayView<float> noise, ArrayView<float> z, int latent)
    {
        for (int i = thread; i < z.IntLength; i += threads)
        {
            int r = i / latent, j = i - r * latent;
            z[i] = Sample(enc[r * 2 * latent + j], enc[r * 2 * latent + latent + j], noise[i]);
        }
    }

    /// <summary>KL(N(μ, σ²) ‖ N(0, 1)) of one latent dimension: −½(1 + log σ² − μ² − σ²).</summary>
    public static float Kl(float mu, float logVariance) =>
        -0.5f * (1f + logVariance - mu * mu - MathF.Exp(logVariance));

    /// <summary>Σ_j KL of one row of enc (μ | log σ², 2D wide), log σ² clamped.</summary>
    public static float KlRow<TFloats>(TFloats enc, int latent) where TFloats : struct, IElements<float>
    {
        float kl = 0f;
        for (int j = 0; j < latent; j++) kl += Kl(enc[j], ClampLogVariance(enc[latent + j]));
        return kl;
    }

    /// <summary>rowKl[r] = <see cref="KlRow"/> of row r, for every row of rowKl; grid-stride over the rows.</summary>
    public static void KlRows(Index1D thread, int threads, ArrayView<float> enc, ArrayView<float> rowKl, int latent)
    {
        for (int r = thread; r < rowKl.IntLength; r += threads) rowKl[r] = KlRow(enc.Row(r, 2 * latent), latent);
    }

    /// <summary>
    /// Grid-stride over the rows of rowKl: each row by <see cref="SampleBackwardRow"/>, from dz (the decoder's gradient
    /// with respect to z, already divided by the batch) and the loss's KL weight over the rows, into denc[rows, 2D], and
    /// the row's KL (unweighted) into rowKl.
    /// </summary>
    public static void ReparameterizeBackward(Index1D thread, int threads, ArrayView<float> enc, ArrayView<float> noise, ArrayView<float> dz,
        ArrayView<float> denc, ArrayView<float> rowKl, int latent, float klWeightOverRows)
    {
        for (int r = thread; r < rowKl.IntLength; r += threads)
            rowKl[r] = SampleBackwardRow(enc.Row(r, 2 * latent), noise.Row(r, latent), dz.Row(r, latent), denc.Row(r, 2 * latent), latent, klWeightOverRows);
    }

    /// <summary>
    /// The backward pass of <see cref="Sample"/> for one latent dimension, with the gradient of the loss's KL term
    /// klWeight·KL/rows (klWeight = β, or less during warm-up) added: dμ = dz + klWeight·μ/rows and
    /// dlog σ² = (dz·ε·½σ + klWeight·½(σ² − 1)/rows)·[log σ² inside the clamp]; and the dimension's KL (unweighted).
    /// </summary>
    public static LatentGradient SampleBackward(float mu, float rawLogVariance, float dz, float noise, float klWeightOverRows)
    {
        float logVariance = ClampLogVariance(rawLogVariance);
        float variance = MathF.Exp(logVariance), sigma = MathF.Exp(0.5f * logVariance);
        bool inside = rawLogVariance >= MinLogVariance && rawLogVariance <= MaxLogVariance;
        return new LatentGradient
        {
            DMu = dz + klWeightOverRows * mu,
            DLogVariance = inside ? dz * noise * 0.5f * sigma + klWeightOverRows * 0.5f * (variance - 1f) : 0f,
            Kl = Kl(mu, logVariance),
        };
    }

    /// <summary>One row: denc (dμ | dlog σ², 2D wide) from enc (μ | log σ²), the row's noise and dz (D wide) by
    /// <see cref="SampleBackward"/>; returns the row's KL. denc may be enc itself (each dimension is read before it is
    /// written): the fused step overwrites its encoder output in place.</summary>
    public static float SampleBackwardRow<TFloats>(TFloats enc, TFloats noise, TFloats dz, TFloats denc, int latent, float klWeightOverRows)
        where TFloats : struct, IElements<float>
    {
        float kl = 0f;
        for (int j = 0; j < latent; j++)
        {
            var gradient = SampleBackward(enc[j], enc[latent + j], dz[j], noise[j], klWeightOverRows);
            kl += gradient.Kl;
            denc[j] = gradient.DMu;
            denc[latent + j] = gradient.DLogVariance;
        }
        return kl;
    }
}

/// <summary>One latent dimension's dμ and dlog σ², and its KL, from <see cref="Sampling.SampleBackward"/>.</summary>
public struct LatentGradient
{
    public float DMu, DLogVariance, Kl;
}
