using GpuAe.Kernels;
using Xunit;

namespace GpuAe.Tests.Kernels;

/// <summary>The VAE's sampling family (noise, reparameterisation, KL and its gradient) and the IWAE kernels.</summary>
public class SamplingTests
{
    [Theory, MemberData(nameof(TestBackends.All), MemberType = typeof(TestBackends))]
    public void NoiseHasStandardNormalMomentsOverAMillionDraws(string backend)
    {
        var be = TestBackends.Get(backend);
        const int n = 1_000_000;
        var noise = be.Allocate(n);
        be.NormalNoise(noise, seed: 42, step: 1);
        var e = be.Down(noise);
        double mean = e.Average(v => (double)v);
        double variance = e.Average(v => (v - mean) * (v - mean));
        double tail = e.Count(v => Math.Abs(v) > 1.959964) / (double)n;
        // Standard errors over 10⁶ draws: mean 0.001, variance √(2/n) = 0.0014, P(|ε| > 1.96) √(0.05·0.95/n) = 0.00022.
        // Bounds are 5 standard errors: a wrong distribution with the right mean and variance still fails the tail.
        Assert.InRange(mean, -0.005, 0.005);
        Assert.InRange(variance, 1 - 0.0071, 1 + 0.0071);
        Assert.InRange(tail, 0.05 - 0.0011, 0.05 + 0.0011);
    }

    [Theory, MemberData(nameof(TestBackends.All), MemberType = typeof(TestBackends))]
    public void SameSeedAndStepGiveBitIdenticalNoiseAndAnotherStepDoesNot(string backend)
    {
        var be = TestBackends.Get(backend);
        var a = be.Allocate(1000); var b = be.Allocate(1000); var c = be.Allocate(1000);
        be.NormalNoise(a, 7, 3); be.NormalNoise(b, 7, 3); be.NormalNoise(c, 7, 4);
        Assert.Equal(be.Down(a), be.Down(b));
        var differing = be.Down(a).Zip(be.Down(c)).Count(p => p.First != p.Second);
        Assert.Equal(1000, differing);
        // The device draws exactly what the host function draws, element by element: any backend can reproduce a run,
        // and an index bug (mutant: element i drawn from counter i / 2, neighbours duplicated, moments unchanged) fails.
        var device = be.Down(a);
        Assert.All(Enumerable.Range(0, 1000), i => Assert.Equal(Sampling.Normal(7, Sampling.NoiseStream + 3, (ulong)i), device[i]));
        // Neighbours are unrelated: lag-1 correlation within 5 standard errors (1/√n) of 0, no two neighbours equal.
        double lag = Enumerable.Range(0, 999).Average(i => (double)device[i] * device[i + 1]);
        Assert.InRange(lag, -5 / Math.Sqrt(999), 5 / Math.Sqrt(999));
        Assert.DoesNotContain(Enumerable.Range(0, 999), i => device[i] == device[i + 1]);
    }

    [Theory, MemberData(nameof(TestBackends.All), MemberType = typeof(TestBackends))]
    public void ReparameterizeMatchesReferenceAndClampsLogVariance(string backend)
    {
        var be = TestBackends.Get(backend);
        const int rows = 3, latent = 2;
        // rows of [μ₁, μ₂, log σ²₁, log σ²₂]; the last row's log σ² are far outside the clamp [−30, 20].
        float[] enc = [0.5f, -1f, 0f, 1.3862944f, 2f, 0f, -2f, 0.4f, 0f, 1f, 500f, -500f];
        float[] noise = [1f, -0.5f, 0.3f, 2f, 1f, 1f];
        var z = be.Allocate(rows * latent);
        be.Reparameterize(be.Up(enc), be.Up(noise), z, rows, latent);
        double[] expected = [0.5 + 1 * 1, -1 + 2 * -0.5, 2 + Math.Exp(-1) * 0.3, 0 + Math.Exp(0.2) * 2, 0 + Math.Exp(10) * 1, 1 + Math.Exp(-15) * 1];
        Values.AssertClose(expected, be.Down(z), 1e-6, "z");
    }

    [Theory, MemberData(nameof(TestBackends.All), MemberType = typeof(TestBackends))]
    public void KlMatchesTheClosedFormOnHandValues(string backend)
    {
        var be = TestBackends.Get(backend);
        // μ = (1, 0), log σ² = (0, ln 4): KL = −½[(1 + 0 − 1 − 1) + (1 + ln 4 − 0 − 4)] = 2 − ½·ln 4 = 1.3068528
        // μ = (0, 0), log σ² = (0, 0): KL = 0 (q is the prior).
        float[] enc = [1f, 0f, 0f, MathF.Log(4f), 0f, 0f, 0f, 0f];
        var rowKl = be.Allocate(2);
        be.KlRows(be.Up(enc), rowKl, 2, 2);
        var kl = be.Down(rowKl);
        Assert.Equal(1.3068528f, kl[0], 1e-6f);
        Assert.Equal(0f, kl[1], 1e-7f);
    }

    /// <summary>L = Σ R ⊙ z + w·Σ_r KL_r with z = μ + σ·ε: the backward kernel's dμ and dlog σ² (given dz = R and
    /// klWeightOverRows = w) must match central differences of L computed with the forward kernels.</summary>
    [Theory, MemberData(nameof(TestBackends.All), MemberType = typeof(TestBackends))]
    public void ReparameterizeBackwardMatchesFiniteDifferences(string backend)
    {
        var be = TestBackends.Get(backend);
        const int rows = 4, latent = 3;
        const float weight = 0.7f;
        var enc = Values.Random(rows * 2 * latent, 61, 1.5f);
        var noise = Values.Random(rows * latent, 62, 2f);
        var r = Values.Random(rows * latent, 63);
        var tEnc = be.Up(enc); var tNoise = be.Up(noise);
        var z = be.Allocate(rows * latent); var rowKl = be.Allocate(rows);

        double Loss()
        {
            be.Reparameterize(tEnc, tNoise, z, rows, latent);
            be.KlRows(tEnc, rowKl, rows, latent);
            var zv = be.Down(z); var kl = be.Down(rowKl);
            return zv.Select((v, i) => (double)r[i] * v).Sum() + weight * kl.Sum(v => (double)v);
        }

        var dEnc = be.Allocate(rows * 2 * latent); var backwardKl = be.Allocate(rows);
        be.ReparameterizeBackward(tEnc, tNoise, be.Up(r), dEnc, backwardKl, rows, latent, weight);
        var numeric = FiniteDifferences.Central(be, enc, tEnc, Loss, eps: 1e-3f);
        // Smooth in enc; the loss is ~10 in float32, so rounding/(2·eps) ≈ 5e-4 dominates: tolerance 2e-3.
        Values.AssertClose(numeric, be.Down(dEnc), 2e-3, "d(μ, log σ²)");
        be.KlRows(tEnc, rowKl, rows, latent);
        Assert.Equal(be.Down(rowKl), be.Down(backwardKl)); // the backward kernel reports the same KL
    }

    [Theory, MemberData(nameof(TestBackends.All), MemberType = typeof(TestBackends))]
    public void LogVarianceOutsideTheClampGetsNoGradientAndStaysFinite(string backend)
    {
        var be = TestBackends.Get(backend);
        float[] enc = [0.5f, 80f]; // one latent dimension: μ = 0.5, log σ² = 80 (clamped to 20)
        var dEnc = be.Allocate(2); var rowKl = be.Allocate(1);
        be.ReparameterizeBackward(be.Up(enc), be.Up([1f]), be.Up([1f]), dEnc, rowKl, 1, 1, 1f);
        var d = be.Down(dEnc);
        Assert.Equal(1f + 0.5f, d[0]);
        Assert.Equal(0f, d[1]);
        Assert.True(float.IsFinite(be.Down(rowKl)[0]));
    }

    [Theory, MemberData(nameof(TestBackends.All), MemberType = typeof(TestBackends))]
    public void ImportanceLogWeightsAndLogMeanExpMatchReference(string backend)
    {
        var be = TestBackends.Get(backend);
        const int rows = 2, latent = 2, samples = 3;
        float[] enc = [0.1f, -0.2f, -1f, 0.5f, 1f, 2f, 0f, -3f];
        var logWeights = be.Allocate(samples * rows);
        var expected = new double[samples * rows];
        for (int s = 0; s < samples; s++)
        {
            var noise = Values.Random(rows * latent, 70 + s, 2f);
            float[] rowBce = [300f + s, 250f - 10 * s];
            var z = be.Allocate(rows * latent);
            var tEnc = be.Up(enc); var tNoise = be.Up(noise);
            be.Reparameterize(tEnc, tNoise, z, rows, latent);
            be.ImportanceLogWeights(tEnc, tNoise, z, be.Up(rowBce), logWeights, s, rows, latent);
            var zv = be.Down(z);
            for (int r = 0; r < rows; r++)
            {
                // log p(x|z) + log N(z; 0, I) − log N(z; μ, σ²), with the 2π terms written out to check they cancel.
                double logPz = 0, logQz = 0;
                for (int j = 0; j < latent; j++)
                {
                    double mu = enc[r * 4 + j], logVar = enc[r * 4 + 2 + j], zj = zv[r * 2 + j];
                    logPz += -0.5 * (Math.Log(2 * Math.PI) + zj * zj);
                    logQz += -0.5 * (Math.Log(2 * Math.PI) + logVar + (zj - mu) * (zj - mu) / Math.Exp(logVar));
                }
                expected[s * rows + r] = -rowBce[r] + logPz - logQz;
            }
        }
        Values.AssertClose(expected, be.Down(logWeights), 1e-6, "log weights");

        var bound = be.Allocate(rows);
        be.NegativeLogMeanExp(logWeights, samples, rows, bound);
        // Reference in double: values near −300 underflow exp in float32, so only a max-shifted sum works.
        var lw = be.Down(logWeights);
        double[] expectedBound = Enumerable.Range(0, rows).Select(r =>
        {
            var w = Enumerable.Range(0, samples).Select(s => (double)lw[s * rows + r]).ToArray();
            double max = w.Max();
            return -(max + Math.Log(w.Sum(v => Math.Exp(v - max))) - Math.Log(samples));
        }).ToArray();
        Values.AssertClose(expectedBound, be.Down(bound), 1e-6, "−log mean exp");
    }
}
