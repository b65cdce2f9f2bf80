using GpuAe.Kernels;
using GpuAe.Nets.Data;
using GpuAe.Nets.Model;
using GpuAe.Nets.Training;
using Xunit;

namespace GpuAe.Tests.Nets;

/// <summary>The VAE's test numbers against a plain double-precision computation of the same definitions on a tiny
/// model: the sampled negative ELBO (one z ~ q(z|x) per image from the fixed evaluation noise, KL in closed form), the
/// reconstruction decoded from z = μ, and the IWAE bound.</summary>
public class VaeEvaluationTests
{
    const int Features = 12, Hidden = 6, Latent = 2, Images = 10, Batch = 4; // three batches: noise keyed by the first row

    /// <summary>Per image: sampled BCE, KL, μ-decoded BCE, μ-decoded squared error, and the log importance weights of
    /// samples 0..k−1, all from the model's weights and the evaluation noise, in double precision.</summary>
    static (double Bce, double Kl, double BceMu, double SquaredError, double[] LogWeights)[] Reference(IBackend be, VariationalAutoencoder model, float[] x, int k)
    {
        var values = be.Down(model.Parameters.Values);
        var p = model.Parameters.Entries.ToDictionary(e => e.Name, e => values.AsSpan(e.Offset, e.Length).ToArray());
        double[] Dense(double[] input, string name, int inWidth, int outWidth, bool relu)
        {
            var w = p[name + ".weight"]; var b = p[name + ".bias"];
            var y = new double[outWidth];
            for (int o = 0; o < outWidth; o++)
            {
                double s = b[o];
                for (int i = 0; i < inWidth; i++) s += w[o * inWidth + i] * input[i];
                y[o] = relu ? Math.Max(0, s) : s;
            }
            return y;
        }
        double[] Logits(double[] z) => Dense(Dense(z, "decoder.0", Latent, Hidden, true), "decoder.2", Hidden, Features, false);
        (double Bce, double SquaredError) Score(double[] logits, double[] target)
        {
            double bce = 0, se = 0;
            for (int i = 0; i < Features; i++)
            {
                double l = logits[i];
                bce += Math.Max(l, 0) - l * target[i] + Math.Log(1 + Math.Exp(-Math.Abs(l)));
                double d = 1 / (1 + Math.Exp(-l)) - target[i];
                se += d * d;
            }
            return (bce, se);
        }
        var result = new (double, double, double, double, double[])[Images];
        for (int n = 0; n < Images; n++)
        {
            var image = x.AsSpan(n * Features, Features).ToArray().Select(v => (double)v).ToArray();
            var enc = Dense(Dense(image, "encoder.0", Features, Hidden, true), "encoder.2", Hidden, 2 * Latent, false);
            var mu = enc[..Latent];
            var logVar = enc[Latent..].Select(v => Math.Clamp(v, Sampling.MinLogVariance, Sampling.MaxLogVariance)).ToArray();
            double kl = -0.5 * Enumerable.Range(0, Latent).Sum(j => 1 + logVar[j] - mu[j] * mu[j] - Math.Exp(logVar[j]));
            var (bceMu, se) = Score(Logits(mu), image);
            int first = n / Batch * Batch;
            double[] Z(int s, out double[] eps)
            {
                var e = new double[Latent];
                for (int j = 0; j < Latent; j++)
                    e[j] = Sampling.Normal(VariationalAutoencoder.EvaluationSeed,
                        Sampling.NoiseStream + (ulong)VariationalAutoencoder.EvaluationStep(s, first), (ulong)((n - first) * Latent + j));
                eps = e;
                return [.. Enumerable.Range(0, Latent).Select(j => mu[j] + Math.Exp(0.5 * logVar[j]) * e[j])];
            }
            var logWeights = new double[k];
            double sampledBce = 0;
            for (int s = 0; s < k; s++)
            {
                var z = Z(s, out var eps);
                double bce = Score(Logits(z), image).Bce;
                if (s == 0) sampledBce = bce;
                // log p(x|z) + log N(z; 0, I) − log N(z; μ, σ²), the 2π terms cancelled.
                logWeights[s] = -bce + Enumerable.Range(0, Latent).Sum(j => 0.5 * (eps[j] * eps[j] - z[j] * z[j] + logVar[j]));
            }
            result[n] = (sampledBce, kl, bceMu, se, logWeights);
        }
        return result;
    }

    static (VariationalAutoencoder Model, Evaluator Evaluator, float[] X) TinyModel(IBackend be, int? samplesPerPass = null)
    {
        var model = new VariationalAutoencoder(be, Batch, latent: Latent, features: Features, hidden: Hidden, samplesPerPass: samplesPerPass);
        model.Initialise(11);
        be.Upload(model.Parameters.Values, Values.Random(model.Parameters.Length, 61, 0.6f));
        var x = Values.Uniform01(Images * Features, 62);
        var data = new Dataset(x, new byte[Images], Images, Features);
        return (model, new Evaluator(be, model, DeviceImages.Upload(be, data), Batch), x);
    }

    /// <summary>Tolerance: float32 sums of ~12 terms of size ≤ 10 against double precision; 1e-4 relative.</summary>
    [Theory]
    [MemberData(nameof(TestBackends.All), MemberType = typeof(TestBackends))]
    public void SampledElboAndMuReconstructionMatchADirectComputation(string backend)
    {
        var be = TestBackends.Get(backend);
        var (model, evaluator, x) = TinyModel(be);
        var reference = Reference(be, model, x, 1);
        var m = evaluator.Run();
        double bce = reference.Average(r => r.Bce), kl = reference.Average(r => r.Kl), bceMu = reference.Average(r => r.BceMu);
        Assert.Equal(bce, m.Bce, bce * 1e-4);
        Assert.Equal(kl, m.Kl, Math.Max(kl, 1) * 1e-4);
        Assert.Equal(bce + kl, m.Loss, (bce + kl) * 1e-4);
        Assert.Equal(bceMu, m.BceMu, bceMu * 1e-4);
        Assert.Equal(reference.Sum(r => r.SquaredError) / (Images * Features), m.Mse, 1e-6);
        Assert.NotEqual(m.BceMu, m.Bce, 1e-3); // the sampled term is not the μ-decoded one
    }

    /// <summary>With k = 1 the IWAE bound is −log w(z₀) = BCE(z₀) + log q(z₀|x) − log p(z₀): on the same noise it is the
    /// sampled ELBO whose KL is estimated at z₀ too. And the k-sample bound is −log mean exp of the reference weights.</summary>
    [Fact]
    public void IwaeWithOneSampleIsTheSampledElboOnTheSameNoise()
    {
        var be = Cpu.Backend;
        var (model, evaluator, x) = TinyModel(be);
        var reference = Reference(be, model, x, 5);
        var m = evaluator.Run();
        double iwae1 = evaluator.ImportanceWeightedBound(1);
        double sampledKl = reference.Average(r => -r.LogWeights[0] - r.Bce); // log q(z₀|x) − log p(z₀)
        Assert.Equal(m.Bce + sampledKl, iwae1, Math.Abs(iwae1) * 1e-4);
        Assert.Equal(reference.Average(r => -r.LogWeights[0]), iwae1, Math.Abs(iwae1) * 1e-4);

        double LogMeanExp(double[] w) { double max = w.Max(); return max + Math.Log(w.Average(v => Math.Exp(v - max))); }
        double iwae5 = reference.Average(r => -LogMeanExp(r.LogWeights));
        Assert.Equal(iwae5, evaluator.ImportanceWeightedBound(5), Math.Abs(iwae5) * 1e-4);
    }

    /// <summary>The IWAE bound is the same, bit for bit, however many of its samples the decoder takes in one pass: one at
    /// a time; the dense VAE's default (8 a pass, 16 on the last batch of 2 images, so k = 7 is one pass); 3 a pass (k = 7
    /// leaves a last pass of 1). Mutants: every sample of a pass weighted with the first one's noise; every sample of a
    /// pass drawn with the first one's step: each fails here.</summary>
    [Theory]
    [MemberData(nameof(TestBackends.All), MemberType = typeof(TestBackends))]
    public void IwaeIsTheSameHoweverManySamplesAPassDecodes(string backend)
    {
        var be = TestBackends.Get(backend);
        long Bound(int? samplesPerPass) => BitConverter.DoubleToInt64Bits(TinyModel(be, samplesPerPass).Evaluator.ImportanceWeightedBound(7));
        long oneAtATime = Bound(1);
        Assert.Equal(oneAtATime, Bound(null));
        Assert.Equal(oneAtATime, Bound(3));
    }

    /// <summary>
    /// A VAE with a 1-D latent, where log p(x) = log ∫ p(x|z) N(z; 0, 1) dz can be computed by quadrature (the BCE
    /// likelihood, as the bound uses it): IWAE_k is an upper bound on −log p(x) in expectation that tightens with k, so
    /// with many samples it must land on the quadrature's value, and with few it must sit above it. A bound computed with
    /// wrong weights (a missing ½ log σ², a sign) misses by far more than the tolerances below.
    /// </summary>
    [Fact]
    public void IwaeApproachesTheLogLikelihoodComputedByQuadrature()
    {
        const int features = 12, hidden = 6, images = 200;
        var be = TestBackends.Get("simd512");
        var model = new VariationalAutoencoder(be, images, latent: 1, features: features, hidden: hidden);
        model.Initialise(21);
        // An encoder whose q(z|x) ≈ N(0.7, 1.2²) for every image: wider than the posterior (so the importance weights stay
        // bounded) and off-centre, so the ELBO's gap is a few tenths of a nat and visible above the sampling noise.
        var initial = be.Down(model.Parameters.Values);
        var head = model.Parameters.Entries.Single(e => e.Name == "encoder.2.weight");
        var headBias = model.Parameters.Entries.Single(e => e.Name == "encoder.2.bias");
        for (int i = 0; i < head.Length; i++) initial[head.Offset + i] *= 0.05f;
        initial[headBias.Offset] = 0.7f; initial[headBias.Offset + 1] = MathF.Log(1.44f);
        be.Upload(model.Parameters.Values, initial);
        var x = Values.Uniform01(images * features, 22);
        var evaluator = new Evaluator(be, model, DeviceImages.Upload(be, new Dataset(x, new byte[images], images, features)), images);

        var values = be.Down(model.Parameters.Values);
        var p = model.Parameters.Entries.ToDictionary(e => e.Name, e => values.AsSpan(e.Offset, e.Length).ToArray());
        double LogLikelihood(int n, double z)
        {
            var h = new double[hidden];
            for (int o = 0; o < hidden; o++) h[o] = Math.Max(0, p["decoder.0.bias"][o] + p["decoder.0.weight"][o] * z);
            double logP = 0;
            for (int f = 0; f < features; f++)
            {
                double l = p["decoder.2.bias"][f];
                for (int o = 0; o < hidden; o++) l += p["decoder.2.weight"][f * hidden + o] * h[o];
                double t = x[n * features + f];
                logP -= Math.Max(l, 0) - l * t + Math.Log(1 + Math.Exp(-Math.Abs(l))); // −BCE
            }
            return logP;
        }
        // −log p(x) per image by the trapezoid rule on z ∈ [−12, 12], 2,401 points (the prior's tails beyond are < e⁻⁷²; on
        // this smooth, fast-decaying integrand dz = 0.01 is ample: 24,001 points gave the mean within 3e-7 nats of this, far
        // inside the 0.02 below, and took 7 s more).
        double NegativeLogMarginal(int n)
        {
            const int points = 2401; const double lo = -12, hi = 12, dz = (hi - lo) / (points - 1);
            var terms = Enumerable.Range(0, points).Select(i =>
            {
                double z = lo + i * dz;
                return LogLikelihood(n, z) - 0.5 * z * z - 0.5 * Math.Log(2 * Math.PI) + Math.Log(dz) + (i == 0 || i == points - 1 ? Math.Log(0.5) : 0);
            }).ToArray();
            double max = terms.Max();
            return -(max + Math.Log(terms.Sum(t => Math.Exp(t - max))));
        }
        double exact = Enumerable.Range(0, images).Average(NegativeLogMarginal);

        double k1 = evaluator.ImportanceWeightedBound(1), k10 = evaluator.ImportanceWeightedBound(10), k3000 = evaluator.ImportanceWeightedBound(3000);
        // With 3,000 samples of a 1-D posterior under bounded weights, the bound's gap and its Monte-Carlo error are far
        // below 0.02 nats. IWAE_1 is the sampled ELBO (its KL estimated at the sample): its gap, KL(q ‖ posterior) ≈ 0.28
        // nats here, is ten times the noise of a mean over 200 images (≈ 0.03); k = 10 removes most of it.
        Assert.True(Math.Abs(k3000 - exact) < 0.02, $"IWAE k=3000 {k3000:F4} against −log p(x) {exact:F4}");
        Assert.True(k1 - exact > 0.1, $"IWAE k=1 {k1:F4} should sit clearly above −log p(x) {exact:F4}");
        Assert.True(k10 > exact - 0.02 && k10 < k1 - 0.1, $"IWAE k=10 {k10:F4} should lie between −log p(x) {exact:F4} and k=1 {k1:F4}");
    }
}
