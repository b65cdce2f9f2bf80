using GpuAe.Nets.Report;
using GpuAe.Tests.Nets;
using Xunit;

namespace GpuAe.Tests.Report;

/// <summary>A small real report (AE and VAE at 2-D and 4-D, the VAE-GAN at 2-D, the VAE also at β = 2, two seeds), built once; the study under it is then rewritten run by
/// run to force each branch of the notebook claims' verdicts.</summary>
public sealed class SmallReport : IDisposable
{
    readonly string folder = Directory.CreateTempSubdirectory("gpuae-verdicts-").FullName;
    public readonly ReportOptions Options;
    public readonly ReportSummary Summary;

    public SmallReport()
    {
        Options = new ReportOptions(NotebookAeEpochs: 1, Epochs: 1, Seed: 1, OutputFolder: Path.Combine(folder, "report"), IwaeK: 1, ManifoldN: 3,
            Models: ["ae", "vae", "vae-gan"], Betas: [1f, 2f], Seeds: 2, Latents: [2, 4], ClassifierFolder: Repository.Classifier, Samples: 600);
        Summary = ReportBuilder.Build(TestBackends.Get("simd512"), RealData.Train.Take(1024), RealData.Test.Take(500), Options, new StringWriter());
    }

    public void Dispose() => Directory.Delete(folder, recursive: true);
}

/// <summary>
/// Every branch of the claims' verdicts (reconstruction, equal width, latent, generation) and of the β sweep's (the
/// trade-off, the best β, the two bounds' rankings), the VAE-GAN's sharper claim and the latent widths' gap and active
/// units, forced by synthetic numbers in
/// a real report's study: a model better on every seed by a wide margin, worse, or spread across the other (not
/// distinguishable). A verdict flipped in ReportText fails here. (Before, 3 of about 20 branches were asserted, on whatever
/// a tiny training happened to give.) Mutants tried and caught: the latent claim's two decided branches swapped; the best β's "higher by" taken on the
/// wrong side of the comparison; the sharper claim's "holds" given to sharper-but-farther samples; the width gap's
/// "widens" and "narrows" swapped.
/// </summary>
public class VerdictTests(SmallReport report) : IClassFixture<SmallReport>
{
    static readonly ConfigKey NotebookAe = ReportOptions.NotebookAe, Ae2 = new("ae", 2, 1f), Vae2 = new("vae", 2, 1f), Vae2Beta2 = new("vae", 2, 2f), VaeGan2 = new("vae-gan", 2, 1f),
        Ae4 = new("ae", 4, 1f), Vae4 = new("vae", 4, 1f);

    /// <summary>Reconstruction quality q per seed (1 good, 0 poor) on all five measures: BCE and MSE from the code, SSIM,
    /// the feature distance and the reconstructions' Fréchet distance.</summary>
    static RunResult Reconstructs(RunResult r, double q) => r with
    {
        Test = r.Test with { BceMu = 300 - 100 * q, Mse = 0.06 - 0.05 * q }, Ssim = 0.3 + 0.5 * q, PerceptualDistance = 10 - 5 * q,
        Generation = r.Generation with { ReconstructionsDistance = 100 - 50 * q },
    };

    /// <summary>The report's text with the runs of each given configuration rewritten, seed i by the i-th function.</summary>
    ReportDocument With(params (ConfigKey Config, Func<RunResult, int, RunResult> Rewrite)[] changes)
    {
        var runs = report.Summary.Study.Runs.Select(r =>
        {
            var change = changes.FirstOrDefault(c => c.Config == r.Key.Config);
            if (change.Rewrite is null) return r;
            int seed = report.Summary.Study.Of(r.Key.Config).ToList().IndexOf(r);
            return change.Rewrite(r, seed);
        }).ToList();
        return ReportText.Write(report.Summary with { Study = new Study(runs) }, report.Options);
    }

    /// <summary>Seeds close together around <paramref name="value"/> (decided against a far value), or spread widely
    /// around it (not distinguishable from a close one).</summary>
    static double Tight(double value, int seed) => value + 0.002 * seed;
    static double Wide(double value, int seed) => value + (seed == 0 ? -0.3 : 0.3);

    [Fact]
    public void ReconstructionClaimSaysAllOrTalliesTheMeasures()
    {
        var all = With((NotebookAe, (r, s) => Reconstructs(r, Tight(0.9, s))), (Vae2, (r, s) => Reconstructs(r, Tight(0.2, s))));
        Assert.StartsWith("\"The AE reconstructs better\" holds for the notebook's two models on every one of the 5 reconstruction measures",
            all.Text(Say.ClaimReconstruction));

        // BCE and MSE for the AE, SSIM for the VAE, the feature and Fréchet distances spread: 2, 1 and 2.
        var mixed = With(
            (NotebookAe, (r, s) => Reconstructs(r, Tight(0.9, s)) with { Ssim = Tight(0.3, s), PerceptualDistance = Wide(7, s), Generation = r.Generation with { ReconstructionsDistance = 70 + (s == 0 ? -30 : 30) } }),
            (Vae2, (r, s) => Reconstructs(r, Tight(0.2, s)) with { Ssim = Tight(0.8, s), PerceptualDistance = Tight(7, s), Generation = r.Generation with { ReconstructionsDistance = Tight(70, s) } }));
        Assert.StartsWith("\"The AE reconstructs better\" holds for the notebook's two models on 2 of the 5 reconstruction measures, the VAE is better on 1, " +
            "and 2 are not distinguishable with 2 seeds", mixed.Text(Say.ClaimReconstruction));
    }

    [Fact]
    public void EqualWidthClaimNamesTheWinnerOnlyWhenEveryMeasureAgrees()
    {
        Assert.StartsWith("At the same 2-D bottleneck and budget the AE still reconstructs better, on all 5 measures",
            With((Ae2, (r, s) => Reconstructs(r, Tight(0.9, s))), (Vae2, (r, s) => Reconstructs(r, Tight(0.2, s)))).Text(Say.ClaimEqualWidth));
        Assert.StartsWith("At the same 2-D bottleneck the VAE reconstructs better, on all 5 measures",
            With((Ae2, (r, s) => Reconstructs(r, Tight(0.2, s))), (Vae2, (r, s) => Reconstructs(r, Tight(0.9, s)))).Text(Say.ClaimEqualWidth));
        var mixed = With((Ae2, (r, s) => Reconstructs(r, Tight(0.9, s)) with { Ssim = Tight(0.2, s) }), (Vae2, (r, s) => Reconstructs(r, Tight(0.2, s)) with { Ssim = Tight(0.9, s) }));
        Assert.StartsWith("At the same 2-D bottleneck and budget there is no single verdict", mixed.Text(Say.ClaimEqualWidth));
    }

    [Fact]
    public void LatentClaimFollowsTheKnnDifference()
    {
        string Claim(double ae, double vae, Func<double, int, double> spread) =>
            With((Ae2, (r, s) => r with { KnnAccuracy = spread(ae, s) / 100 }), (Vae2, (r, s) => r with { KnnAccuracy = spread(vae, s) / 100 })).Text(Say.ClaimLatent)!;
        Assert.Contains("at 2-D its μ separate the classes better than the 2-D AE's codes (5-NN accuracy higher by 30.0", Claim(50, 80, Tight));
        Assert.Contains("at 2-D the AE's codes separate the classes better than the VAE's μ (5-NN accuracy higher by 30.0", Claim(80, 50, Tight));
        Assert.Contains("at 2-D its μ and the AE's codes are not distinguishable with 2 seeds in how they separate the classes", Claim(60, 60.5, Tight));
    }

    [Fact]
    public void GenerationClaimFollowsTheFrechetDifference()
    {
        string Claim(double ae, double vae, Func<double, int, double> spread) =>
            With((Ae2, (r, s) => r with { Generation = r.Generation with { SamplesDistance = spread(ae, s) } }),
                 (Vae2, (r, s) => r with { Generation = r.Generation with { SamplesDistance = spread(vae, s) } })).Text(Say.ClaimGeneration)!;
        Assert.StartsWith("\"The VAE can generate\": at 2-D its prior samples are closer to the test images than the AE's samples from a fitted Gaussian " +
                          "(Fréchet distance 40.00 ± 0.00 against 80.00 ± 0.00", Claim(80, 40, Tight));
        Assert.StartsWith("\"The VAE can generate\" needs a qualifier: at 2-D the AE's samples", Claim(40, 80, Tight));
        Assert.StartsWith("\"The VAE can generate\": at 2-D its prior samples and the AE's samples from a fitted Gaussian are not distinguishable with 2 seeds",
            Claim(60, 60, Wide));
    }

    /// <summary>The β sweep at β = 1 and 2: rate (KL) and distortion (sampled BCE) each up or down, the sampled −ELBO's
    /// best β clearly or not, and the IWAE bound ranking the β values as the −ELBO does or not.</summary>
    ReportDocument Sweep(double kl1, double kl2, double bce1, double bce2, double elbo1, double elbo2, Func<double, int, double> spread,
        double iwae1 = 100, double iwae2 = 200) =>
        With((Vae2, (r, s) => r with { Test = r.Test with { Kl = kl1, Bce = bce1, Loss = spread(elbo1, s) }, Iwae = iwae1 }),
             (Vae2Beta2, (r, s) => r with { Test = r.Test with { Kl = kl2, Bce = bce2, Loss = spread(elbo2, s) }, Iwae = iwae2 }));

    [Fact]
    public void BetaTradeOffSaysWhichOfRateAndDistortionMoves()
    {
        Assert.StartsWith("As β grows the rate falls and the distortion rises at every step", Sweep(10, 5, 250, 260, 260, 265, Tight).Text(Say.BetaTradeOff));
        Assert.StartsWith("As β grows the rate falls at every step (means), but the distortion does not", Sweep(10, 5, 250, 240, 260, 265, Tight).Text(Say.BetaTradeOff));
        Assert.StartsWith("As β grows the distortion rises at every step (means), but the rate does not", Sweep(5, 10, 250, 260, 260, 265, Tight).Text(Say.BetaTradeOff));
        Assert.StartsWith("Neither the rate nor the distortion changes monotonically", Sweep(5, 10, 250, 240, 260, 265, Tight).Text(Say.BetaTradeOff));
    }

    [Fact]
    public void BestBetaIsNamedWithItsDifferenceOrItsTie()
    {
        Assert.Contains("is higher by 5.00", Sweep(10, 5, 250, 260, 260, 265, Tight).Text(Say.BetaBest));
        Assert.EndsWith("is not distinguishable with 2 seeds from it.", Sweep(10, 5, 250, 260, 260, 260.5, Wide).Text(Say.BetaBest));
        string lower = Sweep(10, 5, 250, 260, 265, 260, Tight).Text(Say.BetaBest)!;
        Assert.StartsWith("The lowest sampled −ELBO is at β = 2", lower);
        Assert.Contains("it is lower by 5.00", lower);
        Assert.Contains("the two are not distinguishable with 2 seeds", Sweep(10, 5, 250, 260, 260.5, 260, Wide).Text(Say.BetaBest));
    }

    [Fact]
    public void RankingsByTheTwoBoundsAgreeOrNot()
    {
        Assert.EndsWith("the two bounds rank the β values the same way.", Sweep(10, 5, 250, 260, 260, 265, Tight, iwae1: 100, iwae2: 200).Text(Say.BetaRanking));
        Assert.EndsWith("the two bounds rank them differently, so which β fits the data best depends on the bound.",
            Sweep(10, 5, 250, 260, 260, 265, Tight, iwae1: 200, iwae2: 100).Text(Say.BetaRanking));
    }

    /// <summary>The VAE-GAN against its baseline (here the dense 2-D VAE: the study has no conv-VAE): sharper and closer,
    /// sharper but farther or tied in closeness, blurrier, tied in sharpness.</summary>
    [Fact]
    public void SharperClaimHasAVerdictForEachOutcome()
    {
        string Claim(double ganSharpness, double vaeSharpness, double ganFd, double vaeFd, Func<double, int, double> sharpSpread) =>
            With((VaeGan2, (r, s) => r with { Sharpness = sharpSpread(ganSharpness, s), Generation = r.Generation with { SamplesDistance = Tight(ganFd, s) } }),
                 (Vae2, (r, s) => r with { Sharpness = sharpSpread(vaeSharpness, s), Generation = r.Generation with { SamplesDistance = Tight(vaeFd, s) } }))
                .Text(Say.ClaimSharper)!;
        const string head = "\"The VAE-GAN generates sharper images\" (Larsen et al., 2016)";
        Assert.StartsWith($"{head} holds here at 2-D: its samples are sharper", Claim(0.2, 0.02, 40, 60, Tight));
        Assert.EndsWith("sharper is not more realistic here.", Claim(0.2, 0.02, 60, 40, Tight));
        Assert.StartsWith($"{head} holds only for sharpness at 2-D: its samples are sharper", Claim(0.2, 0.02, 60, 40, Tight));
        Assert.Contains("but not distinguishable with 2 seeds in closeness to the test images", Claim(0.2, 0.02, 60, 60, Tight));
        Assert.StartsWith($"{head} does not hold here at 2-D: its samples are blurrier than the VAE's", Claim(0.02, 0.2, 40, 60, Tight));
        Assert.StartsWith($"{head} is not shown here at 2-D: the two are not distinguishable with 2 seeds in sharpness", Claim(0.5, 0.5, 40, 60, Wide));
    }

    /// <summary>The BCE gap (VAE − AE, from z = μ) from 2-D to 4-D: widening, narrowing, or a change the seeds cannot
    /// tell; and the VAE's unused dimensions at 4-D, with the wider VAE reconstructing better or not.</summary>
    [Fact]
    public void WidthGapAndActiveUnitsFollowTheNumbers()
    {
        ReportDocument Widths(double ae2, double vae2, double ae4, double vae4, Func<double, int, double> spread4, double active4 = 4) => With(
            (Ae2, (r, s) => r with { Test = r.Test with { BceMu = Tight(ae2, s) } }), (Vae2, (r, s) => r with { Test = r.Test with { BceMu = Tight(vae2, s) }, ActiveUnits = 2 }),
            (Ae4, (r, s) => r with { Test = r.Test with { BceMu = Tight(ae4, s) } }),
            (Vae4, (r, s) => r with { Test = r.Test with { BceMu = spread4(vae4, s) }, ActiveUnits = (int)active4 }));
        Assert.StartsWith("From 2-D to 4-D the gap widens by 20.00", Widths(200, 210, 150, 180, Tight).Text(Say.WidthGap));
        Assert.StartsWith("From 2-D to 4-D the gap narrows by 5.00", Widths(200, 210, 150, 155, Tight).Text(Say.WidthGap));
        Assert.Contains(", not distinguishable with 2 seeds.", Widths(200, 210, 150, 160, (v, s) => v + (s == 0 ? -30 : 30)).Text(Say.WidthGap));
        Assert.DoesNotContain("are active", Widths(200, 210, 150, 180, Tight).Text(Say.WidthKl));
        Assert.Contains("At 4-D only 2.0 ± 0.0 of its 4 dimensions are active", Widths(200, 210, 150, 180, Tight, active4: 2).Text(Say.WidthKl));
        Assert.Contains("with those it still reconstructs better than the 2-D VAE", Widths(200, 210, 150, 180, Tight, active4: 2).Text(Say.WidthKl));
        Assert.Contains("the extra width does not show in the reconstruction", Widths(200, 210, 150, 215, Tight, active4: 2).Text(Say.WidthKl));
    }
    /// <summary>The Training section's three readings of a run's test-loss curve (the first seed's): lowest at the end
    /// and flat, lowest at the end and still falling (more than half a nat over the last five epochs), or lowest earlier
    /// (it overfits after that epoch). Mutants: the 0.5-nat "still falling" threshold compared the wrong way → caught; the
    /// overfitting epoch taken as the last → caught.</summary>
    [Fact]
    public void TrainingSectionReadsEachCurve()
    {
        static List<GpuAe.Nets.Training.EpochMetrics> Curve(params double[] test) =>
            [.. test.Select((loss, i) => new GpuAe.Nets.Training.EpochMetrics(i + 1, 1, loss - 2, loss, loss, 0, 0.02, loss))];
        string Training(IReadOnlyList<GpuAe.Nets.Training.EpochMetrics> history) =>
            string.Join("\n", With((Vae2, (r, seed) => r with { History = history })).Blocks(Part.Training).OfType<Bullets>()
                .SelectMany(b => b.Items).Select(l => l.Text).Where(t => t.StartsWith(Vae2.Label)));

        string flat = Training(Curve(300, 290, 289.9, 289.8, 289.8, 289.75, 289.7, 289.7));
        Assert.Contains("lowest at the last epoch or within 0.1 nats of it, 0.20 nats over the last 5 epochs; no sign of overfitting at this budget", flat);
        string falling = Training(Curve(300, 295, 294, 293, 292, 291, 290, 289));
        Assert.Contains("still falling (5.00 nats over the last 5 epochs: not converged at this budget); no sign of overfitting", falling);
        string overfits = Training(Curve(300, 290, 288, 289, 290, 291, 292, 293));
        Assert.Contains("lowest at epoch 3 (288.0), 5.00 nats below the last: the model overfits after epoch 3", overfits);
        Assert.Contains("train − test at the last epoch -2.00 nats", overfits);
    }
}
