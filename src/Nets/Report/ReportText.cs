using System.Globalization;
using System.Text;
using GpuAe.Nets.Model;
using GpuAe.Nets.Data;
using GpuAe.Nets.Training;

namespace GpuAe.Nets.Report;

/// <summary>The study's text (<see cref="ReportDocument"/>): the tables and the sentences, every number taken from the run,
/// a method per section. Each sentence that compares or judges is chosen by the numbers (both branches are written out
/// below), and states its difference with the seed spread. REPORT.md is its Markdown; report.tex and slides.tex lay out
/// parts of it (<see cref="Latex"/>), so that a claim is written here once.</summary>
public sealed class ReportText
{
    readonly ReportSummary s;
    readonly ReportOptions o;
    readonly Study study;
    readonly int seeds, testCount;
    readonly List<Section> sections = [];
    List<Block> blocks = [];

    ReportText(ReportSummary summary, ReportOptions options) =>
        (s, o, study, seeds, testCount) = (summary, options, summary.Study, options.Seeds, summary.TestCount);

    public static ReportDocument Write(ReportSummary s, ReportOptions o)
    {
        var text = new ReportText(s, o);
        text.Opening();
        text.Results();
        text.WhyThisComparison();
        text.TheModels();
        text.Reconstruction();
        text.LatentSpace();
        text.Generation();
        text.Conditional();
        text.Adversarial();
        text.BetaSweep();
        text.Training();
        text.Claims();
        text.Limits();
        text.FutureWork();
        text.Reproduce();
        return new ReportDocument(Title, text.sections);
    }

    public const string Title = "Autoencoder vs variational autoencoder on Fashion-MNIST";

    static string N(double v, string format) => v.ToString(format, CultureInfo.InvariantCulture);
    static string P(double share) => N(share * 100, "F1") + " %";

    /// <summary>Which of two configurations is lower on a number: the 95 % interval of the difference of their means
    /// (<see cref="Report.Difference"/>) below 0, above 0, across 0, or no interval (one seed).</summary>
    enum Verdict { FirstLower, SecondLower, NotDistinguishable, Untested }

    static Verdict Of(Difference d) => d.Below ? Verdict.FirstLower : d.Above ? Verdict.SecondLower : d.Tested ? Verdict.NotDistinguishable : Verdict.Untested;
    static Verdict Compare(Stat a, Stat b, double shared = 0) => Of(Difference.Of(a, b, shared));

    /// <summary>What the data say of a difference that is not shown: "not distinguishable with 3 seeds", "one seed: not tested".</summary>
    string Undecided(Verdict v) => v == Verdict.Untested ? "one seed: not tested" : $"not distinguishable with {seeds} seeds";


    /// <summary>One comparison of a number: "BCE: A x ± s against B y ± t, lower for A by d (95 % CI …, Welch's t, ν df)",
    /// or "…, not distinguishable with 3 seeds (A − B: d (95 % CI …))". <paramref name="better"/> says which way is better
    /// (the words say lower or higher); <paramref name="shared"/> is the test set's sampling variance where it counts.</summary>
    string Compared(string what, string aName, Stat a, string bName, Stat b, string format, Better better = Better.Lower, double shared = 0)
    {
        var d = Difference.Of(a, b, shared);
        string head = $"{what}: {aName} {a.Format(format)} against {bName} {b.Format(format)}";
        string word = better == Better.Higher ? "higher" : "lower";
        return (Of(d), better == Better.Higher) switch
        {
            (Verdict.FirstLower, false) or (Verdict.SecondLower, true) => $"{head}, {word} for {aName} by {(better == Better.Higher ? d : d.Negated).Format(format)}",
            (Verdict.SecondLower, false) or (Verdict.FirstLower, true) => $"{head}, {word} for {bName} by {(better == Better.Higher ? d.Negated : d).Format(format)}",
            (var v, _) => $"{head}, {Undecided(v)}: difference {d.Format(format)}",
        };
    }


    /// <summary>A comparison in brief, for the conclusions (the sections give the intervals): "near-empty 9.2 % (VAE)
    /// against 2.3 % (AE), higher for the VAE", "Fréchet distance 483.0 (β = 0.5) against 481.9 (β = 4), not distinguishable with 3 seeds".</summary>
    string Brief(string what, string aName, Stat a, string bName, Stat b, string format, string unit = "")
    {
        string F(Stat st) => N(st.Mean, format) + unit;
        return $"{what} {F(a)} ({aName}) against {F(b)} ({bName}), " + Compare(a, b) switch
        {
            Verdict.FirstLower => $"lower for {aName}",
            Verdict.SecondLower => $"higher for {aName}",
            var v => Undecided(v),
        };
    }

    /// <summary>The test set's binomial sampling variance of a share p measured on its images, for each of two means:
    /// p(1 − p)/N each (conservative: both models are scored on the same images, which a paired test would use).</summary>
    double TestShareVariance(Stat a, Stat b) => (a.Mean * (1 - a.Mean) + b.Mean * (1 - b.Mean)) / testCount;

    /// <summary>Starts a section (a untitled one continues the page's opening).</summary>
    void Section(Part part, string? title)
    {
        blocks = [];
        sections.Add(new Section(part, title, blocks));
    }

    void Paragraph(params string[] lines) => blocks.Add(new Paragraph([.. lines.Select(l => new Line(Say.None, l))]));
    void Paragraph(params Line[] lines) => blocks.Add(new Paragraph(lines));
    void Bullets(params string[] items) => Bullets((IEnumerable<string>)items);
    void Bullets(IEnumerable<string> items) => blocks.Add(new Bullets([.. items.Select(i => new Line(Say.None, i))]));
    void Bullets(params Line[] items) => blocks.Add(new Bullets(items));
    void Figure(string file, string caption) => blocks.Add(new Figure(file, caption));
    static Line Says(Say what, string text) => new(what, text);
    static ConfigKey Ae(int d) => new("ae", d, 1f);
    static ConfigKey Vae(int d, float beta = 1f) => new("vae", d, beta);
    Stat St(ConfigKey c, Func<RunResult, double?> f) => study.Stat(c, f);
    Stat St(ConfigKey c, Metric m) => m.Of(study, c);
    Stat BceMu(ConfigKey c) => St(c, Metrics.BceMu);
    Stat Fd(ConfigKey c) => St(c, Metrics.FrechetSamples);

    /// <summary>BCE of the deterministic reconstructions of the notebook's AE, the 2-D AE and the 2-D VAE: the comparison
    /// Reconstruction makes and the claims return to.</summary>
    (Stat AeNotebook, Stat Ae2, Stat Vae2) ReconstructionBces() => (BceMu(ReportOptions.NotebookAe), BceMu(Ae(2)), BceMu(Vae(2)));

    /// <summary>A table: a row per configuration, a column per (heading, cell).</summary>
    public static Table Table(IEnumerable<ConfigKey> rows, params (string Heading, Func<ConfigKey, string> Cell)[] columns) =>
        new([.. columns.Select(c => c.Heading)], [.. rows.Select(row => (IReadOnlyList<string>)[.. columns.Select(c => c.Cell(row))])]);

    /// <summary>A table's column of a metric: its name and format from <see cref="Metrics"/> unless the table gives its own.</summary>
    (string, Func<ConfigKey, string>) Column(Metric m, string? heading = null, string? format = null) => (heading ?? m.Name, c => m.Cell(study, c, format));
    static (string, Func<ConfigKey, string>) Key(string heading, Func<ConfigKey, string> cell) => (heading, cell);
    IEnumerable<ModelKind> EveryWidthKinds => o.ModelKinds.Select(ModelKind.Named).Where(k => k.AtEveryWidth);
    IEnumerable<ModelKind> ConditionalKinds => o.ModelKinds.Select(ModelKind.Named).Where(k => k.IsConditional);
    /// <summary>The convolutional versions of the dense models (not the VAE-GAN, conv too, which has its own section).</summary>
    IEnumerable<ModelKind> ConvKinds => o.ModelKinds.Select(ModelKind.Named).Where(k => k.Architecture == Architecture.Conv && k.DenseCounterpart is not null);
    IEnumerable<ModelKind> AdversarialKinds => o.ModelKinds.Select(ModelKind.Named).Where(k => k.IsAdversarial);
    /// <summary>What an adversarial model is measured against: the conv-VAE at 2-D (the same encoder and decoder, trained on
    /// the pixel BCE), or the dense 2-D VAE in a study without it.</summary>
    ConfigKey AdversarialBaseline => o.ModelKinds.Contains(ModelKind.ConvVae.Name) ? new(ModelKind.ConvVae.Name, 2, 1f) : Vae(2);
    static string TableName(ConfigKey c) => c.Model.Label + (c == ReportOptions.NotebookAe ? ", ReLU code (the notebook's)"
        : c.Epochs is not null ? ", ReLU code (the notebook's, at the study's budget)" : "");
    static string Beta(ConfigKey c) => c.IsVae ? Study.Number(c.Beta) : "—";
    string Epochs(ConfigKey c) => $"{study.Of(c).First().Epochs}";

    /// <summary>The small tables of report.tex and slides.tex: the cells of REPORT.md's tables (<see cref="Metric.Cell"/>),
    /// fewer rows and columns (<see cref="Digests.Headline"/>: the report's one table).</summary>
    public static Table Digest(ReportSummary s, ReportOptions o, Digests which) => new ReportText(s, o).DigestOf(which);

    Table DigestOf(Digests which)
    {
        var widths = o.LatentSizes.Order().ToArray();
        var model = Key("model", c => c == ReportOptions.NotebookAe ? "AE (notebook's)" : c.Epochs is { } e ? $"AE (notebook's, {e} ep.)" : c.Model.Label);
        var latent = Key("latent", c => $"{c.Latent}");
        var everyWidth = widths.SelectMany(d => EveryWidthKinds.Select(k => new ConfigKey(k.Name, d, 1f))).ToArray();
        var conditional = ConditionalKinds.Select(k => new ConfigKey(k.Name, 2, 1f)).ToArray();
        return which switch
        {
            // The dense models at every width; the conv ones, the conditional and the adversarial ones at 2-D (REPORT.md has the rest).
            Digests.Headline => Table([ReportOptions.NotebookAe, .. everyWidth.Where(c => c.Model.Architecture == Architecture.Dense || c.Latent == 2), .. conditional,
                    .. AdversarialKinds.Select(k => new ConfigKey(k.Name, 2, 1f))], model, latent, Column(Metrics.Loss, "−ELBO"),
                Column(Metrics.BceMu, "BCE, code / μ"), Column(Metrics.Ssim), Column(Metrics.Knn), Column(Metrics.FrechetSamples, "Fréchet, samples")),
            Digests.Reconstruction => Table([ReportOptions.NotebookAe, .. new[] { o.NotebookAeAtBudget }.OfType<ConfigKey>(), Ae(2), Vae(2)], model, latent, Column(Metrics.BceMu, "BCE, code / μ", "F1"),
                Column(Metrics.Ssim)),
            Digests.Widths => Table(everyWidth, model, latent, Column(Metrics.BceMu, "BCE, code / μ", "F1"), Column(Metrics.Kl, "KL")),
            Digests.Latents => Table(everyWidth, model, latent, Column(Metrics.Knn)),
            Digests.Generation => Table(everyWidth, model, latent, Column(Metrics.FrechetSamples, "Fréchet"), Column(Metrics.Precision),
                Column(Metrics.Recall), Column(Metrics.EmptyShare, "empty"), Column(Metrics.SaturatedShare, "saturated")),
            Digests.BetaSweep => Table(o.BetaValues.Append(1f).Distinct().Order().Select(b => Vae(2, b)), Key("β", Beta), Column(Metrics.Kl, "KL"),
                Column(Metrics.Bce, "BCE"), Column(Metrics.Loss, "−ELBO")),
            Digests.Conditional => Table([Vae(2), .. conditional], model, Column(Metrics.Loss, "−ELBO"), Column(Metrics.Iwae, "IWAE"),
                Column(Metrics.Recognised, "recognised")),
            Digests.Adversarial => Table([.. new[] { Vae(2), AdversarialBaseline }.Distinct(), .. AdversarialKinds.Select(k => new ConfigKey(k.Name, 2, 1f))], model,
                Column(Metrics.Sharpness), Column(Metrics.FrechetSamples, "Fréchet"), Column(Metrics.Precision), Column(Metrics.Recall),
                Column(Metrics.BceMu, "BCE, μ", "F1")),
            _ => throw new ArgumentOutOfRangeException(nameof(which), which, null),
        };
    }

    /// <summary>The title and what made the page: the command, the device, the seeds and the plan.</summary>
    void Opening()
    {
        Section(Part.Opening, null);
        string sweep = o.BetaValues.Any(b => b != 1f)
            ? $", a β sweep of the 2-D VAE (β = {string.Join(", ", o.BetaValues.Order().Select(b => Study.Number(b)))}, {o.SweepEpochs} epochs each)" : "";
        Paragraph(Says(Say.MadeBy, $"Made by `{o.CommandLine}` on {s.Device}: {seeds} seed{(seeds > 1 ? "s" : "")} ({string.Join(", ", o.SeedValues)}), batch {o.Batch}, " +
             $"the notebook's AE ({o.NotebookAeEpochs} epochs), {string.Join(", ", EveryWidthKinds.Select(k => k.Label))} at latent widths " +
             $"{string.Join(", ", o.LatentSizes.Order())} ({o.Epochs} epochs each){string.Concat(ConditionalKinds.Select(k => $", the {k.Label} at 2-D ({o.Epochs} epochs)"))}" +
             $"{sweep}, {s.TrainCount:N0} training and {s.TestCount:N0} test images. " +
             "Every number and figure below comes from that run. Tables give the mean ± the sample standard deviation over the seeds; " +
             $"figures show the first seed ({o.Seed}) unless their title says otherwise."));
        Paragraph(Says(Say.Links, $"The same study as a two-page report, [{Latex.ReportPdf}]({Latex.ReportPdf}), and as slides, [{Latex.SlidesPdf}]({Latex.SlidesPdf})."));
    }

    /// <summary>The table of every configuration's test numbers, and how to read it.</summary>
    void Results()
    {
        Section(Part.Results, "Results on the test set");
        Paragraph("**Reconstruction** (deterministic: the AE's code, the VAE's z = μ):");
        blocks.Add(Table(study.Configs, Key("model", TableName), Key("latent", c => $"{c.Latent}"), Key("β", Beta), Key("epochs", Epochs),
            Column(Metrics.BceMu), Column(Metrics.Mse), Column(Metrics.Psnr), Column(Metrics.Ssim), Column(Metrics.Perceptual),
            Column(Metrics.FrechetReconstructions, "Fréchet distance, reconstructions")));
        Paragraph("**Likelihood and latent**:");
        blocks.Add(Table(study.Configs, Key("model", TableName), Key("latent", c => $"{c.Latent}"), Key("β", Beta),
            Column(Metrics.Loss), Column(Metrics.Iwae, $"IWAE bound, k = {o.IwaeK} (nats)"), Column(Metrics.Kl), Column(Metrics.Bce),
            Column(Metrics.ActiveUnits), Column(Metrics.Knn)));
        var vaeRuns = study.Runs.Where(r => r.Iwae is not null).ToList();
        int bounded = vaeRuns.Count(r => r.Iwae <= r.Test.Loss);
        Paragraph("How to read them. **−ELBO, sampled**: for each test image the BCE (summed over the 784 pixels) of the decoder's output for one " +
             "z drawn from q(z|x), plus KL(q(z|x) ‖ N(0, I)) in closed form: an unbiased one-sample estimate of the negative evidence lower " +
             "bound with β = 1, whatever β the model was trained with. The noise is fixed (the counter generator keyed by image and sample, " +
             "the same for every model, run and device), so the number is reproducible. **IWAE bound** (Burda et al., 2016): " +
             $"−log of the mean of k = {o.IwaeK} importance weights p(x|z)p(z)/q(z|x) per image, on the same noise; it is an upper bound on " +
             "−log p(x) under the Bernoulli likelihood behind the BCE, tighter than the ELBO. With grey-level pixels that likelihood is not a " +
             $"normalised density, so it bounds the BCE objective, not a true negative log-likelihood. Here IWAE ≤ sampled −ELBO holds for {bounded} of " +
             $"the {vaeRuns.Count} VAE runs. **BCE from code / z = μ**, MSE, PSNR and SSIM score the deterministic reconstruction: the AE's, and the " +
             "VAE's decoded from z = μ (its best single guess), which is what compares with the AE. PSNR is 10·log₁₀(1/MSE) per image, averaged; " +
             "SSIM uses a 7×7 uniform window (K₁ = 0.01, K₂ = 0.03, data range 1) over every window position inside the 28×28 image. " +
             "**Feature distance**: the mean over test images of the Euclidean distance between our classifier's 256 penultimate features " +
             "of the image and of its reconstruction, a perceptual distance in the manner of LPIPS on our own network (it is not LPIPS). " +
             "**Active units** (Burda et al., 2016): the latent dimensions whose μ varies over the test images (variance above 0.01); the others " +
             "carry nothing about the image. **5-NN accuracy**: leave-one-out 5-nearest-neighbour class accuracy computed from the test codes " +
             "(AE: code; VAE: μ).");
        Paragraph($"Every table gives the mean ± the sample standard deviation over the {seeds} seed{(seeds > 1 ? "s" : "")}. A comparison of two " +
             "configurations gives the difference of their means with its 95 % confidence interval by Welch's t (standard error " +
             "√(sd₁²/n₁ + sd₂²/n₂), degrees of freedom by Welch–Satterthwaite); for the 5-NN accuracy, measured on the same {testCount:N0} test images " +
             "by every run, the test set's binomial sampling variance p(1 − p)/N of each mean is added (it is larger than the seeds' spread). " +
             "A difference is stated when the interval excludes 0; otherwise the two are **not distinguishable with " +
             $"{seeds} seed{(seeds > 1 ? "s" : "")}**, which says how little {seeds} seed{(seeds > 1 ? "s" : "")} can show, not that the two are the same." +
             (seeds > 1 ? "" : " With one seed there is no spread, so no difference is tested."));
    }

    /// <summary>The notebook's claims and why the study trains both models at the same widths.</summary>
    void WhyThisComparison()
    {
        Section(Part.Why, "Why this comparison");
        Paragraph("A Keras notebook trained a dense autoencoder (32-D code) and a variational autoencoder (2-D latent) on Fashion-MNIST and " +
             "concluded that the AE reconstructs better while the VAE organises its latent space and can generate. Its validation metrics " +
             "were all zero, so the claim rested on pictures, and its two models differ in two ways at once: the objective and the width of the " +
             "bottleneck. GpuAe reproduces the study with its own GPU kernels, puts numbers with seed spreads beside the pictures, and separates " +
             "the two effects by training both models at the same widths.");
    }

    /// <summary>The architectures, losses and budgets.</summary>
    void TheModels()
    {
        Section(Part.Models, "The models");
        Paragraph((ConvKinds.Any() || ConditionalKinds.Any() || AdversarialKinds.Any() ? "Every model is" : "Both are dense networks") +
             " trained with Adam (learning rate 10⁻³, batch " + o.Batch + ") on binary cross-entropy summed over pixels, averaged over the batch" +
             (AdversarialKinds.Any() ? " (the VAE-GAN's objective is below)." : "."));
        var models = new List<string>();
        models.Add($"**AE**: 784 → 256 (ReLU) → d (the code) → 256 (ReLU) → 784 (sigmoid). The notebook's AE has a 32-D code behind a ReLU and trains " +
             $"for {o.NotebookAeEpochs} epochs; the study's AEs, one per latent width, have a linear code, as the VAE's μ is linear, and the " +
             $"same budget as the VAEs ({o.Epochs} epochs), so that at equal width the AE and the VAE differ only in their objective" +
             (o.NotebookAeAtBudget is null ? "." : $"; the notebook's AE is also trained for {o.Epochs} epochs, which separates its budget from its " +
                                                  "code activation and width."));
        models.Add("**VAE**: 784 → 256 (ReLU) → μ and log σ² (d each) → z = μ + σ·ε with ε ~ N(0, I) → 256 (ReLU) → 784 (sigmoid); the loss adds " +
             "β·KL(q(z|x) ‖ N(0, I)) = −½ β Σ (1 + log σ² − μ² − σ²) to the BCE; the notebook's has d = 2 and β = 1.");
        if (ConditionalKinds.Any())
            models.Add("**CVAE** (conditional VAE, Sohn et al., 2015): the 2-D VAE with the one-hot class y appended to the encoder's input " +
                 "(784 + 10 → 256 → μ, log σ²) and to z at the decoder's input (2 + 10 → 256 → 784): it models p(x|y), so its loss, KL and " +
                 "IWAE bound are of p(x|y), each test image encoded and decoded with its own label, and it samples the class it is asked for.");
        if (ConvKinds.Any())
            models.Add("**conv-AE, conv-VAE**: the same latents, losses and budgets with convolutional encoders and decoders: 28×28×1 → 3×3 " +
                 "convolution, stride 2 → 14×14×32 (ReLU) → the same → 7×7×64 (ReLU) → dense to the code or to μ and log σ²; the decoder mirrors " +
                 "it with transposed convolutions.");
        foreach (var kind in AdversarialKinds)
            models.Add($"**{kind.Label}** (Larsen et al., 2016), at 2-D: the conv-VAE's encoder and decoder, and a discriminator with the conv " +
                 "encoder's two convolutions (leaky ReLU) → one logit. The encoder descends KL + L_llike, L_llike = ½‖Dis_l(x_r) − Dis_l(x)‖² in the " +
                 "second convolution's features, x_r decoded from z ~ q(z|x); the decoder descends γ·L_llike minus the discriminator's cross-entropy " +
                 $"on x_r and on prior samples, which the discriminator descends. γ = {Study.Number(AdversarialSettings.DefaultGamma)}, Adam at " +
                 // G3, not Study.Number's three decimals, which wrote the rate 0.0003 as "0".
                 $"{AdversarialSettings.DefaultRate.ToString("G3", System.Globalization.CultureInfo.InvariantCulture)} per part (the authors' code).");
        Bullets(models);
        Paragraph($"The notebook's comparison (its AE against the 2-D VAE) is reproduced as it was: {o.NotebookAeEpochs} against {o.Epochs} epochs, " +
             "32 against 2 dimensions, a ReLU code against a linear μ. The rest of the study varies one thing at a time.");
    }

    /// <summary>The notebook's comparison, the same at equal width, then against the width and the convolutional models.</summary>
    void Reconstruction()
    {
        Section(Part.Reconstruction, "Reconstruction");
        Figure(StudyFigures.ReconstructionsPng, "Test images, reconstructions and absolute errors");
        var notebook = ReportOptions.NotebookAe;
        var (aeNotebook, ae2, vae2) = ReconstructionBces();
        var notebookTally = CompareReconstruction("the notebook's AE", notebook, "the 2-D VAE", Vae(2));
        Paragraph(Says(Say.NotebookComparison, $"**The notebook's comparison** (its AE against the 2-D VAE, both deterministic reconstructions): " +
             notebookTally.Text + "."));
        var equalTally = CompareReconstruction("the 2-D AE", Ae(2), "the 2-D VAE", Vae(2));
        Paragraph(Says(Say.EqualWidth, $"**At the same bottleneck** (both 2-D, same budget): " + equalTally.Text + ". " + Capital(GapShares()) + "."));
        LatentWidths();
        Convolutions();
    }

    /// <summary>The notebook's BCE gap (the 2-D VAE's minus the notebook AE's) in steps that change one thing each: the
    /// budget, the code activation, the width, the objective; each a difference of means with its interval. The steps
    /// add up to the gap.</summary>
    string GapShares()
    {
        var steps = new List<(string What, ConfigKey From, ConfigKey To)>();
        ConfigKey at = ReportOptions.NotebookAe;
        if (o.NotebookAeAtBudget is { } budget)
        {
            steps.Add(($"the budget ({o.NotebookAeEpochs} → {o.Epochs} epochs)", at, budget));
            at = budget;
        }
        if (o.LatentSizes.Contains(at.Latent))
        {
            steps.Add(($"the code activation (ReLU → linear at {at.Latent}-D)", at, Ae(at.Latent)));
            steps.Add(($"the width ({at.Latent}-D → 2-D)", Ae(at.Latent), Ae(2)));
        }
        else steps.Add(($"the code activation and the width (ReLU at {at.Latent}-D → linear at 2-D)", at, Ae(2)));
        steps.Add(("the objective (AE → VAE at 2-D)", Ae(2), Vae(2)));
        double gap = BceMu(Vae(2)).Mean - BceMu(ReportOptions.NotebookAe).Mean;
        return $"the notebook's BCE gap of {N(gap, "F1")} nats splits into " +
               string.Join(", ", steps.Select(step => $"{step.What} {Difference.Of(BceMu(step.To), BceMu(step.From)).Format("F1")}"));
    }

    /// <summary>The deterministic reconstruction's measures, each with its heading and format: a claim about which model
    /// reconstructs better must hold on all of them.</summary>
    static readonly (Metric Metric, string Name, string Format)[] ReconstructionMeasures =
    [
        (Metrics.BceMu, "BCE (nats)", "F1"), (Metrics.Mse, "MSE per pixel", "F5"), (Metrics.Ssim, "SSIM", "F3"),
        (Metrics.Perceptual, "feature distance", "F2"), (Metrics.FrechetReconstructions, "Fréchet distance of the reconstructions", "F2"),
    ];

    /// <summary>How many measures favour each of two configurations, and on how many they are not distinguishable.</summary>
    readonly record struct Tally(string Text, int First, int Second, int Undecided)
    {
        public int Count => First + Second + Undecided;
    }

    /// <summary>Every reconstruction measure of two configurations compared, as one sentence, and the tally.</summary>
    Tally CompareReconstruction(string aName, ConfigKey a, string bName, ConfigKey b)
    {
        int first = 0, second = 0, undecided = 0;
        var parts = new List<string>();
        foreach (var (metric, name, format) in ReconstructionMeasures)
        {
            Stat sa = St(a, metric), sb = St(b, metric);
            var verdict = Compare(sa, sb);
            bool aBetter = metric.Better == Better.Higher ? verdict == Verdict.SecondLower : verdict == Verdict.FirstLower;
            bool bBetter = metric.Better == Better.Higher ? verdict == Verdict.FirstLower : verdict == Verdict.SecondLower;
            if (aBetter) first++; else if (bBetter) second++; else undecided++;
            parts.Add(Compared(name, aName, sa, bName, sb, format, metric.Better));
        }
        return new(string.Join("; ", parts), first, second, undecided);
    }

    /// <summary>"the 2-D AE is better on all 5 measures", "… on 3 of the 5, … not distinguishable on 2 with 3 seeds".</summary>
    string Summary(Tally t, string aName, string bName) => (t.First, t.Second, t.Undecided) switch
    {
        (var f, 0, 0) => $"{aName} reconstructs better on all {f} measures",
        (0, var sc, 0) => $"{bName} reconstructs better on all {sc} measures",
        (0, 0, var u) => $"the two are not distinguishable with {seeds} seed{(seeds > 1 ? "s" : "")} on any of the {u} measures",
        var (f, sc, u) => $"of the {t.Count} measures, " + string.Join("; ", new[]
        {
            f > 0 ? $"{aName} is better on {f}" : null,
            sc > 0 ? $"{bName} is better on {sc}" : null,
            u > 0 ? $"{u} are not distinguishable with {seeds} seed{(seeds > 1 ? "s" : "")}" : null,
        }.OfType<string>()),
    };

    /// <summary>The VAE−AE gap of the deterministic reconstruction at each latent width, how it changes from width to
    /// width, and what the VAE's active units and KL say about it.</summary>
    void LatentWidths()
    {
        if (o.LatentSizes.Count < 2) return;
        Figure(StudyFigures.LatentSizesPng, "Test numbers against the latent width");
        var sizes = o.LatentSizes.Order().ToArray();
        var gaps = sizes.Select(d => Difference.Of(BceMu(Vae(d)), BceMu(Ae(d)))).ToArray();
        string Words(Difference d) => Of(d) switch
        {
            Verdict.SecondLower => "the AE lower",
            Verdict.FirstLower => "the VAE lower",
            var v => Undecided(v),
        };
        var gapLine = Says(Say.None, "**Against the latent width** (BCE of the deterministic reconstruction, VAE minus AE): " +
             string.Join("; ", sizes.Select((d, i) => $"{d}-D: {gaps[i].Format("F2")}, {Words(gaps[i])}")) + ".");
        var steps = Enumerable.Range(1, sizes.Length - 1).Select(i =>
        {
            int from = sizes[i - 1], to = sizes[i];
            var change = Difference.Combine(gaps[i].Value - gaps[i - 1].Value, 0, BceMu(Vae(to)), BceMu(Ae(to)), BceMu(Vae(from)), BceMu(Ae(from)));
            return $"from {from}-D to {to}-D the gap " + Of(change) switch
            {
                Verdict.SecondLower => $"widens by {change.Format("F2")}",
                Verdict.FirstLower => $"narrows by {change.Negated.Format("F2")}",
                var v => $"changes by {change.Format("F2")}, {Undecided(v)}",
            };
        });
        var trend = Says(Say.WidthGap, Capital(string.Join("; ", steps)) + ".");
        var active = sizes.Select(d => St(Vae(d), Metrics.ActiveUnits)).ToArray();
        var kls = sizes.Select(d => St(Vae(d), Metrics.Kl)).ToArray();
        int wide = sizes[^1], below = sizes[^2];
        bool widerBetter = Compare(BceMu(Vae(wide)), BceMu(Vae(below))) == Verdict.FirstLower;
        string unused = active[^1].Mean < wide - 0.5
            ? $" At {wide}-D only {active[^1].Format("F1")} of its {wide} dimensions are active: the others' μ does not vary with the image, so " +
              "they give the decoder nothing; " +
              (widerBetter ? $"with those it still reconstructs better than the {below}-D VAE with {active[^2].Format("F1")} active of {below}: "
                           : "the extra width does not show in the reconstruction: ") +
              Compared("BCE from z = μ", $"the {below}-D VAE", BceMu(Vae(below)), $"the {wide}-D VAE", BceMu(Vae(wide)), "F2") + "."
            : "";
        var kl = Says(Say.WidthKl, $"The VAE's active units (of its width) and KL, the information its latent carries per image: " +
             string.Join(", ", sizes.Select((d, i) => $"{active[i].Format("F1")} of {d} and {kls[i].Format("F2")} nats at {d}-D")) + "." + unused);
        Paragraph(gapLine, trend, kl);
    }

    static string Capital(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];

    /// <summary>Each convolutional model against its dense counterpart.</summary>
    void Convolutions()
    {
        var pairs = o.ModelKinds.Select(ModelKind.Named).Where(k => k.Architecture == Architecture.Conv && k.DenseCounterpart is not null).ToList();
        foreach (var conv in pairs)
        {
            var dense = conv.DenseCounterpart!;
            Paragraph($"**Convolutions** ({conv.Label} against the dense {dense.Label}): " +
                 string.Join("; ", o.LatentSizes.Order().Select(d => Compared($"{d}-D BCE", conv.Label, BceMu(new(conv.Name, d, 1f)),
                     dense.Label, BceMu(new(dense.Name, d, 1f)), "F1"))) + "; " +
                 string.Join("; ", o.LatentSizes.Order().Select(d => Compared($"{d}-D Fréchet distance of the samples", conv.Label, Fd(new(conv.Name, d, 1f)),
                     dense.Label, Fd(new(dense.Name, d, 1f)), "F2"))) + ".");
        }
        if (pairs.Count > 0)
            Paragraph("The classifier that scores samples has the conv encoder's two convolutions: its features may favour what a conv decoder " +
                 "draws, so the conv models' Fréchet distances, precision and recall against the dense ones' carry that caveat; the BCE does not.");
    }

    /// <summary>How well the latents group the classes, the notebook AE's codes by PCA, and the spread of the VAE's μ.</summary>
    void LatentSpace()
    {
        Section(Part.LatentSpace, "Organisation of the latent space");
        Figure(StudyFigures.LatentScatterPng, "The 2-D latents: the VAE's means beside the 2-D AE's codes");
        Paragraph("To move through these planes and watch each decoder answer, open [explorer.html](explorer.html) (the same " +
             "runs; self-contained, it decodes in the page" + (ConditionalKinds.Any() ? "; the CVAE's plane with a class selector" : "") + ").");
        Figure(StudyFigures.AePcaPng, "The notebook AE's codes by PCA");
        var notebook = ReportOptions.NotebookAe;
        var sds = s.Measured.VaeMuSds; var mean = s.Measured.VaeMuMean; var pca = s.Measured.NotebookAePca;
        Paragraph("Measured on the 2-D latents: " + KnnCompared("the VAE's μ", Vae(2), "the 2-D AE's codes", Ae(2)) +
             $". The notebook's AE's codes give {Metrics.Knn.Cell(study, notebook)} " +
             $"in {notebook.Latent} dimensions; their first two principal components ({FirstSeed}) explain {P(pca.ExplainedX + pca.ExplainedY)} of the variance " +
             $"and give {P(pca.KnnAccuracy)}. The VAE's μ of the test images ({FirstSeed}) have mean ({N(mean[0], "F2")}, {N(mean[1], "F2")}) and " +
             $"standard deviations {N(sds[0], "F2")} and {N(sds[1], "F2")} along their principal axes, against the prior's 0 and 1 in every direction: " +
             (sds[0] < 1
                 ? "narrower than the prior along both axes, as expected when each q(z|x) keeps some width of its own (the prior constrains the " +
                   "aggregate of the posteriors, not their means)."
                 : $"wider than the prior along {(sds[1] < 1 ? "one axis" : "both axes")}, so the aggregate of the posteriors, whose spread " +
                   "adds each q(z|x)'s own width to the means', is wider still: it does not match the prior the VAE samples from."));
    }

    /// <summary>"seed 42": the label of a number measured on the first seed's run alone.</summary>
    string FirstSeed => $"seed {o.Seed}";

    /// <summary>A configuration's mean ± sd as the tables show it (a share in %).</summary>
    Stat Shown(ConfigKey c, Metric m) => m.Shown(study, c);

    /// <summary>The 5-NN accuracy (%) of two configurations compared, the test set's sampling error included.</summary>
    string KnnCompared(string aName, ConfigKey a, string bName, ConfigKey b) =>
        Compared("5-NN accuracy (%)", aName, Shown(a, Metrics.Knn), bName, Shown(b, Metrics.Knn), "F1", Better.Higher, KnnSharedVariance(a, b));

    /// <summary>The 5-NN accuracy (in points) of a minus b, the test set's sampling error included.</summary>
    Difference KnnDifference(ConfigKey a, ConfigKey b) => Difference.Of(Shown(a, Metrics.Knn), Shown(b, Metrics.Knn), KnnSharedVariance(a, b));

    /// <summary>The test set's sampling variance of two 5-NN accuracies, in points².</summary>
    double KnnSharedVariance(ConfigKey a, ConfigKey b) => TestShareVariance(St(a, Metrics.Knn), St(b, Metrics.Knn)) * 100 * 100;

    /// <summary>How generated images are scored, their table, and what the scores say.</summary>
    void Generation()
    {
        Section(Part.Generation, "Generation");
        Figure(StudyFigures.ManifoldPng, "Decoded grid of the VAE's latent plane");
        Figure(StudyFigures.PriorSamplesPng, "Generated images at every latent width");
        var sc = s.Scorer;
        Paragraph($"The manifold decodes a {o.ManifoldN}×{o.ManifoldN} grid at normal quantiles p = {N(o.ManifoldLow, "0.00")} … {N(o.ManifoldHigh, "0.00")} " +
             "(the notebook's `norm.ppf(linspace(0.05, 0.95, 15))`); the samples decode z ~ N(0, I) for the VAE and z from a Gaussian fitted to the " +
             "training codes for the 2-D AE. Both are measured below, for every model, width and seed.");
        Paragraph($"**How generated images are scored.** {o.Samples:N0} images are generated per run (VAE: z ~ N(0, I); AE: z from " +
             "the Gaussian fitted to its training codes, mean and covariance) and passed through our own Fashion-MNIST classifier " +
             $"(`gpuae train classifier`, trained with the same kernels and trainer on all but the last {sc.Choice.ValidationImages:N0} training images; " +
             $"of its {sc.Choice.Epochs} epochs, epoch {sc.Choice.Epoch} is used, the one with the lowest cross-entropy on those held-out images, " +
             $"{N(sc.Choice.ValidationLoss, "F3")} nats, {P(sc.Choice.ValidationAccuracy)} right; the test set chose nothing, and the chosen " +
             $"checkpoint's test accuracy is {P(sc.TestAccuracy)}; `{sc.Folder}`). Its convolutional layers are the conv encoder's, so the " +
             "conv models' Fréchet numbers may be flattered against the dense ones. The **Fréchet distance** is between Gaussians fitted to the classifier's 256 penultimate " +
             $"features of the generated images and of the {testCount:N0} test images: the FID's formula on this classifier's features, so its numbers " +
             "are not comparable with Inception FIDs. The same distance for the deterministic reconstructions of the test images says what " +
             $"the decoder can reach from good codes, and for {sc.FloorImages:N0} training images (as many as a run generates: the distance's " +
             $"bias depends on the number of images) it is {N(sc.TrainTestDistance, "F2")}: the floor, what two samples of real garments score. " +
             $"**Precision and recall** (Kynkäänniemi et al., 2019, k = {PrecisionRecall.K}, on the same features): the share of samples " +
             "inside the test images' manifold (each test image's ball reaching its third nearest neighbour), and the share of test images " +
             "inside the samples' manifold: low precision is unrealistic samples, low recall is samples that miss kinds of garment. " +
             "**Class entropy** is the entropy of the classes the classifier assigns to the samples (ln 10 ≈ 2.303 nats when every class " +
             "has the same share; the test set itself is balanced). A generator fails in two ways the eye sees at once: " +
             $"**near-empty** samples, mean intensity below {N(LatentAnalysis.EmptyIntensity, "0.00")} (test images: {P(s.Measured.TestEmptyShare)}), " +
             $"and **near-saturated** ones, mean intensity above {N(LatentAnalysis.SaturatedIntensity, "0.00")}, white blobs (test images: " +
             $"{P(s.Measured.TestSaturatedShare)}).");
        string MostFrequentClass(ConfigKey c)
        {
            var shares = Enumerable.Range(0, Classifier.Classes).Select(k => St(c, r => Metrics.ClassShares.PerClass!(r)[k]).Mean).ToArray();
            int top = Array.IndexOf(shares, shares.Max());
            return $"{FashionMnist.ClassNames[top]} ({P(shares[top])})";
        }
        blocks.Add(Table(study.Configs, Key("model", TableName), Key("latent", c => $"{c.Latent}"), Key("β", Beta), Column(Metrics.FrechetSamples),
            Column(Metrics.Precision), Column(Metrics.Recall), Column(Metrics.ClassEntropy), Key("most frequent class (mean share)", MostFrequentClass),
            Column(Metrics.EmptyShare, "near-empty"), Column(Metrics.SaturatedShare, "near-saturated")));
        if (ConditionalKinds.Any())
            Paragraph("The CVAE's samples ask for the ten classes in turn (z ~ N(0, I)), so its class entropy is set by design; how often the " +
                 "classifier sees the class asked for is in the next section.");
        Figure(StudyFigures.GenerationPng, "Fréchet distances against the latent width");
        Paragraph(Says(Say.None, "Measured: " + string.Join("; ", o.LatentSizes.Order().Select(d =>
                 Compared($"at {d}-D, the samples' Fréchet distance", "the VAE", Fd(Vae(d)), "the AE", Fd(Ae(d)), "F2"))) + ". At 2-D, " +
             string.Join("; ", new[] { Metrics.Precision, Metrics.Recall, Metrics.EmptyShare, Metrics.SaturatedShare }.Select(m =>
                 Compared($"{m.Name} (%)", "the VAE", Shown(Vae(2), m), "the AE", Shown(Ae(2), m), "F1", m.Better))) + "."),
            Says(Say.None, "What decoding from the prior costs over decoding the codes of real images, at 2-D: " +
             Compared("Fréchet distance", "reconstructions", St(Vae(2), Metrics.FrechetReconstructions), "prior samples", Fd(Vae(2)), "F2") +
             $" (floor {N(sc.TrainTestDistance, "F2")})."));
        Figure(StudyFigures.InterpolationPng, "Interpolations");
        Paragraph("The interpolation figure decodes straight lines between the codes (AE) or means (VAE) of two test images of different classes; it is " +
             "shown for inspection, and no claim is drawn from it.");
    }

    /// <summary>The conditional VAE (when the study has one): its samples per class, how often the classifier recognises the
    /// class asked for, and its bounds of p(x|y) beside the 2-D VAE's of p(x).</summary>
    void Conditional()
    {
        foreach (var kind in ConditionalKinds)
        {
            var c = new ConfigKey(kind.Name, 2, 1f);
            var sc = s.Scorer;
            Section(Part.Conditional, $"Conditional generation: the {kind.Label}");
            Figure(StudyFigures.ConditionalSamplesPng, $"{kind.Label} samples, one row per class");
            var perClass = Enumerable.Range(0, Classifier.Classes)
                .Select(k => St(c, r => r.Generation.RecognisedByClass?[k] * 100)).ToArray();
            int low = Array.IndexOf(perClass, perClass.MinBy(p => p.Mean)), high = Array.IndexOf(perClass, perClass.MaxBy(p => p.Mean));
            Paragraph(Says(Say.ConditionalRecognised, $"Asked for each class in turn, {o.Samples:N0} samples z ~ N(0, I) per run: the classifier puts " +
                 $"{Metrics.Recognised.Cell(study, c)} of them in the class asked for " +
                 $"(lowest {FashionMnist.ClassNames[low]}, {perClass[low].Format("F1")} %; highest {FashionMnist.ClassNames[high]}, {perClass[high].Format("F1")} %; " +
                 $"mean ± sd over the seeds), where its own accuracy on the real test images is {P(sc.TestAccuracy)}. The figure shows ten samples " +
                 $"of each class from the first seed."));
            var (elbo, vaeElbo) = (St(c, Metrics.Loss), St(Vae(2), Metrics.Loss));
            var gap = Difference.Of(vaeElbo, elbo);
            double ln10 = Math.Log(Classifier.Classes);
            string bound = $"ln 10 = {N(ln10, "F2")} nats, the most that knowing the label can lower the true negative log-likelihood of an image " +
                           "(log p(x|y) − log p(x) = log p(y|x) − log p(y) ≤ ln 10 for ten classes of the same frequency)";
            Paragraph(Says(Say.ConditionalBound, $"Its numbers are bounds of p(x|y), the 2-D VAE's of p(x): " +
                 Compared("sampled −ELBO", $"the {kind.Label}", elbo, "the 2-D VAE", vaeElbo, "F2") + "; " +
                 Compared($"IWAE bound (k = {o.IwaeK})", $"the {kind.Label}", St(c, Metrics.Iwae), "the 2-D VAE", St(Vae(2), Metrics.Iwae), "F2") + ". " +
                 (!gap.Above
                     ? $"The label does not lower the bound distinguishably with {seeds} seeds."
                     : gap.Low > ln10
                         ? $"The gap is larger than {bound}, even at the low end of its 95 % interval: the rest is the model fitting better, " +
                           "its 2-D latent no longer having to encode the class."
                         : gap.High < ln10
                             ? $"The gap is within {bound}."
                             : $"Whether the gap exceeds {bound} is within its 95 % interval.")));
            Paragraph($"Its latent need not carry the class, which y supplies: " + KnnCompared($"the {kind.Label}'s μ", c, "the 2-D VAE's μ", Vae(2)) + ".");
        }
    }

    /// <summary>The VAE-GAN (when the study has one) against the VAE with its encoder and decoder: its samples' sharpness,
    /// closeness and coverage, its reconstructions, how its adversarial game went, and the verdict on the claim that it
    /// generates sharper images.</summary>
    void Adversarial()
    {
        foreach (var kind in AdversarialKinds)
        {
            var g = new ConfigKey(kind.Name, 2, 1f);
            var b = AdversarialBaseline;
            string gName = $"the {kind.Label}", bName = $"the {b.Model.Label}";
            Section(Part.Adversarial, $"Sharper samples? The {kind.Label}");
            Figure(StudyFigures.AdversarialSamplesPng, "Test images and samples z ~ N(0, I) of the 2-D " +
                string.Join(", the 2-D ", new[] { "VAE", b.Model.Label, kind.Label }.Distinct()));
            string against = b.Model == ModelKind.ConvVae ? ""
                : $" The conv-VAE is not in this run, so the {kind.Label} is measured against the {b.Model.Label} at 2-D: the differences below mix " +
                  "the convolutional architecture with the adversarial objective.";
            Paragraph($"The {kind.Label} (Larsen et al., 2016) keeps the {ModelKind.ConvVae.Label}'s encoder and decoder and replaces the pixel-wise BCE by a " +
                 "squared error in the features of a discriminator's second convolution, while the decoder also learns, as a GAN's generator, to make " +
                 "that discriminator take its reconstructions and its prior samples for real images (Models, above). The promise is sharper " +
                 $"samples than a VAE's blur. **Sharpness** is the variance of each image's 4-neighbour Laplacian, averaged over the {o.Samples:N0} " +
                 $"samples (the test images: {N(s.Measured.TestSharpness, "F4")}); a blurred image has small second differences, and noise " +
                 "raises them too, so the test images' value is the reference, not the largest. Its BCE and −ELBO (Results) score a pixel " +
                 "likelihood it is not trained on." + against);
            var generation = new[] { Metrics.FrechetSamples, Metrics.Precision, Metrics.Recall, Metrics.EmptyShare, Metrics.SaturatedShare };
            Paragraph("Measured at 2-D: " + Compared("sharpness", gName, St(g, Metrics.Sharpness), bName, St(b, Metrics.Sharpness), "F4", Better.Higher) + "; " +
                 string.Join("; ", generation.Select(m => Compared(m.Percent ? $"{m.Name} (%)" : m.Name, gName, Shown(g, m), bName, Shown(b, m),
                     m.Percent ? "F1" : m.Format, m.Better))) + ". Its reconstructions (z = μ): " +
                 string.Join("; ", new[] { Metrics.BceMu, Metrics.Ssim, Metrics.Perceptual }.Select(m =>
                     Compared(m.Name, gName, Shown(g, m), bName, Shown(b, m), m.Format, m.Better))) + ".");
            var last = study.Of(g).First().History.LastOrDefault(e => e.Adversarial is not null);
            var collapsed = study.Of(g).Select(r => (r.Key.Seed, Epochs: r.History.Where(e => e.Adversarial is { } x && CollapseWatch.Symptom(x) is not null)
                .Select(e => e.Epoch).ToList())).Where(c => c.Epochs.Count > 0).ToList();
            string watch = collapsed.Count == 0
                ? $"the collapse watch (metrics.csv's `collapse`) flagged none of the {study.Of(g).Sum(r => r.History.Count)} epochs of the {study.Of(g).Count()} runs."
                : "the collapse watch (metrics.csv's `collapse`: the discriminator right on at least 99.9 % of real and generated images, or lost) flagged " +
                  string.Join("; ", collapsed.Select(c => $"seed {c.Seed}: {c.Epochs.Count} epochs from epoch {c.Epochs.Min()}")) +
                  $", of the {study.Of(g).Count()} runs. The study trains every run to its budget regardless, so {(collapsed.Count == 1 ? "that seed's numbers are" : "those seeds' numbers are")} " +
                  "those of a collapsed game, and the spreads below include them.";
            if (last?.Adversarial is { } a)
                Paragraph($"The game at its last epoch ({FirstSeed}, epoch {last.Epoch}): the discriminator classifies {P(a.AccuracyReal)} of the real " +
                     $"training images and {P(a.AccuracyGenerated)} of the generated ones right, its mean output {N(a.DReal, "F2")} on real images, " +
                     $"{N(a.DReconstructed, "F2")} on reconstructions and {N(a.DPrior, "F2")} on prior samples; " + watch);
            Paragraph(Says(Say.ClaimSharper, SharperClaim(kind, g, b)));
        }
    }

    /// <summary>"The VAE-GAN generates sharper images": sharper by the Laplacian (interval above 0) and closer to the test
    /// images by the Fréchet distance, each branch written out.</summary>
    string SharperClaim(ModelKind kind, ConfigKey g, ConfigKey b)
    {
        var sharp = Difference.Of(St(b, Metrics.Sharpness), St(g, Metrics.Sharpness));   // below 0: the adversarial model's is higher
        var fd = Difference.Of(Fd(g), Fd(b));                                              // below 0: the adversarial model's is lower
        string head = $"\"The {kind.Label} generates sharper images\" (Larsen et al., 2016)";
        string sharpness = $"sharpness {St(g, Metrics.Sharpness).Format("F4")} against the {b.Model.Label}'s {St(b, Metrics.Sharpness).Format("F4")} " +
                           $"(test images {N(s.Measured.TestSharpness, "F4")})";
        string closeness = $"Fréchet distance {Fd(g).Format("F2")} against {Fd(b).Format("F2")}";
        return (Of(sharp), Of(fd)) switch
        {
            (Verdict.FirstLower, Verdict.FirstLower) => $"{head} holds here at 2-D: its samples are sharper ({sharpness}) and closer to the test images ({closeness}).",
            (Verdict.FirstLower, var v) => $"{head} holds only for sharpness at 2-D: its samples are sharper ({sharpness}) but " +
                (v == Verdict.SecondLower ? "farther from the test images" : $"{Undecided(v)} in closeness to the test images") +
                $" ({closeness}): " + (v == Verdict.SecondLower ? "sharper is not more realistic here." : "sharper is not shown to be more realistic here."),
            (Verdict.SecondLower, _) => $"{head} does not hold here at 2-D: its samples are blurrier than the {b.Model.Label}'s ({sharpness}; {closeness}).",
            (var v, _) => $"{head} is not shown here at 2-D: the two are {Undecided(v)} in sharpness ({sharpness}; {closeness}).",
        };
    }

    /// <summary>The β sweep of the 2-D VAE (when it has a β other than 1): its table and the rate–distortion trade-off.</summary>
    void BetaSweep()
    {
        if (!o.BetaValues.Any(b => b != 1f)) return;
        var betas = o.BetaValues.Append(1f).Distinct().Order().ToList();
        Section(Part.BetaSweep, "β sweep: rate against distortion");
        Paragraph($"The 2-D VAE trained with the KL term weighted by β (β-VAE). Rate is the KL, distortion the sampled BCE (z ~ q(z|x)), so that " +
             "distortion + rate is the sampled −ELBO; every column is measured with β = 1.");
        blocks.Add(Table(betas.Select(b => Vae(2, b)), Key("β", Beta), Key("epochs", Epochs), Column(Metrics.Kl, "KL, rate (nats)"),
            Column(Metrics.Bce, "BCE sampled, distortion (nats)"), Column(Metrics.Loss, "−ELBO, sampled"), Column(Metrics.Iwae, $"IWAE bound, k = {o.IwaeK}"),
            Column(Metrics.BceMu, "BCE from z = μ"), Column(Metrics.Knn)));
        Figure(StudyFigures.RateDistortionPng, "Rate against distortion");
        Figure(StudyFigures.BetaLatentsPng, "Latent means per β");
        var rates = betas.Select(b => St(Vae(2, b), Metrics.Kl).Mean).ToArray();
        var distortions = betas.Select(b => St(Vae(2, b), Metrics.Bce).Mean).ToArray();
        bool rateFalls = rates.Zip(rates.Skip(1)).All(p => p.Second < p.First), distortionRises = distortions.Zip(distortions.Skip(1)).All(p => p.Second > p.First);
        var tradeOff = Says(Say.BetaTradeOff, (rateFalls, distortionRises) switch
        {
            (true, true) => "As β grows the rate falls and the distortion rises at every step (means): the trade-off the β-VAE objective predicts.",
            (true, false) => "As β grows the rate falls at every step (means), but the distortion does not rise at every step.",
            (false, true) => "As β grows the distortion rises at every step (means), but the rate does not fall at every step.",
            _ => "Neither the rate nor the distortion changes monotonically with β in this run.",
        });
        var best = betas.MinBy(b => St(Vae(2, b), Metrics.Loss).Mean);
        Stat bestElbo = St(Vae(2, best), Metrics.Loss), oneElbo = St(Vae(2), Metrics.Loss);
        var runnerUp = betas.Where(b => b != best).MinBy(b => St(Vae(2, b), Metrics.Loss).Mean);
        Stat runnerUpElbo = St(Vae(2, runnerUp), Metrics.Loss);
        Paragraph(tradeOff, Says(Say.BetaBest, best == 1f
            ? $"The lowest sampled −ELBO is at β = 1 ({oneElbo.Format("F2")}), the β that trains exactly that objective; the next, β = " +
              $"{Study.Number(runnerUp)} ({runnerUpElbo.Format("F2")}), is " + (Compare(oneElbo, runnerUpElbo) is var v && v == Verdict.FirstLower
                ? $"higher by {Difference.Of(runnerUpElbo, oneElbo).Format("F2")}." : $"{Undecided(v)} from it.")
            : $"The lowest sampled −ELBO is at β = {Study.Number(best)} ({bestElbo.Format("F2")}), not at β = 1 ({oneElbo.Format("F2")}), the β that trains " +
              $"exactly that objective; " + (Compare(bestElbo, oneElbo) is var w && w == Verdict.FirstLower
                  ? $"it is lower by {Difference.Of(oneElbo, bestElbo).Format("F2")}, a sign that the optimiser, not the objective, limits these runs."
                  : $"the two are {Undecided(w)} (difference {Difference.Of(bestElbo, oneElbo).Format("F2")}).")),
            Says(Say.BetaRanking, Ranking(betas)));
        Paragraph(Says(Say.BetaGeneration, BetaGeneration(betas)));
    }

    /// <summary>The β values ordered by the sampled −ELBO and by the IWAE bound (means), and whether the orders agree.</summary>
    string Ranking(List<float> betas)
    {
        string Order(Metric m) => string.Join(" < ", betas.OrderBy(b => St(Vae(2, b), m).Mean).Select(b => $"β = {Study.Number(b)}"));
        string byElbo = Order(Metrics.Loss), byIwae = Order(Metrics.Iwae);
        return $"Ordered by the sampled −ELBO (means, lowest first): {byElbo}; by the IWAE bound: {byIwae}" +
               (byElbo == byIwae ? ": the two bounds rank the β values the same way." : ": the two bounds rank them differently, so which β fits the data best depends on the bound.");
    }

    /// <summary>What β buys and costs, for the conclusions: the smallest β against the largest on the bound and the
    /// generation scores, means and verdicts (the β sweep gives the intervals).</summary>
    string BetaInBrief(List<float> betas)
    {
        float low = betas[0], high = betas[^1];
        var scores = new[] { Metrics.Loss, Metrics.FrechetSamples, Metrics.ClassEntropy, Metrics.EmptyShare, Metrics.SaturatedShare };
        return $"The β sweep (2-D VAE; means, intervals under β sweep): " +
               string.Join("; ", scores.Select(m => Brief(m.Name.Replace("generated ", "").Replace(" (nats)", ""), $"β = {Study.Number(low)}", Shown(Vae(2, low), m),
                   $"β = {Study.Number(high)}", Shown(Vae(2, high), m), m.Percent ? "F1" : m.Format, m.Percent ? " %" : ""))) + ". " + Ranking(betas);
    }

    /// <summary>What β buys and costs in generation: the smallest β against the largest on every generation score.</summary>
    string BetaGeneration(List<float> betas)
    {
        float low = betas[0], high = betas[^1];
        string l = $"β = {Study.Number(low)}", h = $"β = {Study.Number(high)}";
        return $"For generation, {l} against {h} (2-D VAE, z ~ N(0, I)): " + string.Join("; ",
            new[] { Metrics.FrechetSamples, Metrics.Precision, Metrics.Recall, Metrics.ClassEntropy, Metrics.EmptyShare, Metrics.SaturatedShare }.Select(m =>
                Compared(m.Percent ? $"{m.Name} (%)" : m.Name, l, Shown(Vae(2, low), m), h, Shown(Vae(2, high), m), m.Percent ? "F1" : m.Format, m.Better))) + ".";
    }

    /// <summary>Each first-seed model's loss curve in words: where it is lowest and the train−test gap.</summary>
    void Training()
    {
        Section(Part.Training, "Training");
        Figure(StudyFigures.LossCurvesPng, "Loss curves");
        var lines = new List<string>();
        var trained = new List<ConfigKey> { ReportOptions.NotebookAe, Ae(2), Vae(2) };
        if (o.WideLatent != 2) trained.Add(Vae(o.WideLatent));
        foreach (var c in trained)
        {
            var history = study.Of(c).First().History;
            if (history.Count == 0) continue;
            var minimum = history.MinBy(e => e.TestLoss)!;
            var last = history[^1];
            double rise = last.TestLoss - minimum.TestLoss;
            // How much the last few epochs still moved the test loss: "still falling" above half a nat.
            int window = Math.Min(5, history.Count - 1);
            double fall = window > 0 ? history[^(window + 1)].TestLoss - last.TestLoss : 0;
            string recent = window == 0 ? "" : fall > 0.5 ? $", still falling ({N(fall, "F2")} nats over the last {window} epochs: not converged at this budget)"
                : $", {N(fall, "F2")} nats over the last {window} epochs";
            lines.Add($"{c.Label} ({FirstSeed}): test loss {N(history[0].TestLoss, "F1")} after epoch 1, {N(last.TestLoss, "F1")} after epoch {last.Epoch}; " +
                 (rise <= 0.1
                     ? $"lowest at the last epoch or within 0.1 nats of it{recent}; no sign of overfitting at this budget"
                     : $"lowest at epoch {minimum.Epoch} ({N(minimum.TestLoss, "F1")}), {N(rise, "F2")} nats below the last: the model overfits after epoch {minimum.Epoch}") +
                 $"; train − test at the last epoch {N(last.TrainLoss - last.TestLoss, "F2")} nats.");
        }
        Bullets(lines);
    }

    /// <summary>The notebook's three claims against the numbers.</summary>
    void Claims()
    {
        Section(Part.Claims, "What the numbers say about the notebook's claims");
        var (aeNotebook, ae2, vae2) = ReconstructionBces();
        var sc = s.Scorer;
        var notebookTally = CompareReconstruction("the notebook's AE", ReportOptions.NotebookAe, "the 2-D VAE", Vae(2));
        var reconstruction = Says(Say.ClaimReconstruction, notebookTally.First == notebookTally.Count
            ? $"\"The AE reconstructs better\" holds for the notebook's two models on every one of the {notebookTally.Count} reconstruction measures " +
              $"(BCE {aeNotebook.Format("F1")} against {vae2.Format("F1")} nats)."
            : $"\"The AE reconstructs better\" holds for the notebook's two models on {notebookTally.First} of the {notebookTally.Count} reconstruction " +
              $"measures, the VAE is better on {notebookTally.Second}, and {notebookTally.Undecided} are not distinguishable with {seeds} seeds " +
              $"(Reconstruction, above).");
        var equalTally = CompareReconstruction("the 2-D AE", Ae(2), "the 2-D VAE", Vae(2));
        string shares = GapShares();
        var equalWidth = Says(Say.ClaimEqualWidth, (equalTally.First, equalTally.Second) switch
        {
            var (f, _) when f == equalTally.Count => $"At the same 2-D bottleneck and budget the AE still reconstructs better, on all {f} measures; {shares}: " +
                (vae2.Mean - ae2.Mean < ae2.Mean - aeNotebook.Mean ? "most of the notebook's gap is not the objective." : "the objective's share is the larger one."),
            var (_, second) when second == equalTally.Count => $"At the same 2-D bottleneck the VAE reconstructs better, on all {second} measures: the notebook's gap is the bottleneck, not the objective.",
            _ => $"At the same 2-D bottleneck and budget there is no single verdict: {Summary(equalTally, "the 2-D AE", "the 2-D VAE")}; {shares}.",
        });
        var muSds = s.Measured.VaeMuSds;
        string prior = $"what the VAE adds is a prior N(0, I) fixed in advance to sample from, though its μ do not fill it: their spreads along their " +
                       $"principal axes are {N(muSds[0], "F2")} and {N(muSds[1], "F2")} against the prior's 1 ({FirstSeed})";
        var knn = KnnDifference(Vae(2), Ae(2));
        var latent = Says(Say.ClaimLatent, Of(knn) switch
        {
            Verdict.SecondLower => $"\"The VAE organises its latent space\": at 2-D its μ separate the classes better than the 2-D AE's codes (5-NN accuracy higher by {knn.Format("F1")} points); {prior}.",
            Verdict.FirstLower => $"\"The VAE organises its latent space\": at 2-D the AE's codes separate the classes better than the VAE's μ (5-NN accuracy higher by " +
                                  $"{knn.Negated.Format("F1")} points); {prior}.",
            var v => $"\"The VAE organises its latent space\": at 2-D its μ and the AE's codes are {Undecided(v)} in how they separate the classes " +
                     $"(5-NN accuracy, VAE − AE: {knn.Format("F1")} points, the test set's sampling error included); {prior}.",
        });
        var fd = Difference.Of(Fd(Vae(2)), Fd(Ae(2)));
        var generation = Says(Say.ClaimGeneration, Of(fd) switch
        {
            Verdict.FirstLower => $"\"The VAE can generate\": at 2-D its prior samples are closer to the test images than the AE's samples from a fitted Gaussian (Fréchet distance {Fd(Vae(2)).Format("F2")} against {Fd(Ae(2)).Format("F2")}, lower by {fd.Negated.Format("F2")}; floor {N(sc.TrainTestDistance, "F2")}).",
            Verdict.SecondLower => $"\"The VAE can generate\" needs a qualifier: at 2-D the AE's samples from a Gaussian fitted to its codes are closer to the test images than the VAE's prior samples (Fréchet distance {Fd(Ae(2)).Format("F2")} against {Fd(Vae(2)).Format("F2")}, lower by {fd.Format("F2")}); the VAE's advantage is that its prior is known in advance, not that its samples are better.",
            var v => $"\"The VAE can generate\": at 2-D its prior samples and the AE's samples from a fitted Gaussian are {Undecided(v)} in Fréchet distance to the test images ({Fd(Vae(2)).Format("F2")} against {Fd(Ae(2)).Format("F2")}; VAE − AE {fd.Format("F2")}); the VAE's advantage is that its prior is known in advance.",
        } + " The two ways generation fails (means; intervals under Generation): " + string.Join("; ", new[] { Metrics.EmptyShare, Metrics.SaturatedShare }.Select(m =>
            Brief(m.Name.Replace("generated ", ""), "the VAE", Shown(Vae(2), m), "the AE", Shown(Ae(2), m), "F1", " %"))) +
            $" (test images {P(s.Measured.TestEmptyShare)} and {P(s.Measured.TestSaturatedShare)}).");
        var claims = new List<Line> { reconstruction, equalWidth, latent, generation };
        if (o.BetaValues.Any(b => b != 1f)) claims.Add(Says(Say.ClaimBeta, BetaInBrief(o.BetaValues.Append(1f).Distinct().Order().ToList())));
        foreach (var kind in AdversarialKinds) claims.Add(Says(Say.ClaimSharper, SharperClaim(kind, new ConfigKey(kind.Name, 2, 1f), AdversarialBaseline)));
        Bullets([.. claims]);
    }

    /// <summary>What the numbers cannot say.</summary>
    void Limits()
    {
        Section(Part.Limits, "Limits");
        bool conv = ConvKinds.Any();
        Bullets(
            "The sampled −ELBO uses one z per test image; its Monte-Carlo error is not part of the spreads given, which are over seeds only.",
            "The Bernoulli likelihood is a poor model of grey levels; it rewards blur and makes the BCE and IWAE numbers bounds on an " +
            "objective rather than log-likelihoods.",
            seeds > 1
                ? $"{seeds} seeds give 95 % intervals with few degrees of freedom, wide ones: \"not distinguishable with {seeds} seeds\" is what most " +
                  "small differences here can honestly be called, not evidence that two models are the same. The averages over test images (BCE, " +
                  "MSE, SSIM, feature distance) carry the seeds' spread only: every model is scored on the same images, so the test set's " +
                  "sampling error largely cancels in a comparison (a paired test per image would be tighter still)."
                : "One seed: no spread is known, so no difference is called clear.",
            $"{o.Epochs} epochs for every run but the notebook's AE; none of the loss curves is guaranteed to have converged (Training, above).",
            "The notebook's models are dense: they see an image as a flat vector of 784 pixels, with nothing that knows that neighbouring " +
            "pixels belong together or that a shifted garment is the same garment, and most of their weights sit in the 784 × 256 layers at " +
            "either end. " + (conv
                ? "The convolutional models of this run measure what that costs (Reconstruction, above)."
                : "The convolutional AE and VAE are not in this run, so it cannot say how much of the reconstruction error is the architecture's."));
    }

    /// <summary>The original study's future work (Conv-AE, Conv-VAE, β-VAE, VAE-GAN, perceptual metrics): what this run
    /// measured of it and what remains.</summary>
    void FutureWork()
    {
        Section(Part.FutureWork, "Future work");
        bool conv = ConvKinds.Any(), sweep = o.BetaValues.Any(b => b != 1f);
        Bullets(
            "**Conv-AE and conv-VAE**: " + (conv ? "measured in this run (Reconstruction, above)." : "built and trained by the same kernels, not in this run."),
            "**β-VAE**: " + (sweep ? "measured in this run (β sweep, above)." : "built (`--betas`), not in this run."),
            "**VAE-GAN** (Larsen et al., 2016): " + (AdversarialKinds.Any()
                ? "measured in this run at 2-D with the authors' γ and learning rates (Sharper samples?, above); not wider latents."
                : "built (`gpuae train vae-gan`), not in this run. It replaces the pixel-wise BCE by an error in a discriminator's features " +
                  "and trains the decoder as a GAN generator, the proposed answer to the blur that the Bernoulli likelihood rewards."),
            "**Perceptual metrics**: SSIM, a feature distance and the Fréchet distance on our own classifier (Generation, above); Inception " +
            "FID and LPIPS need networks trained elsewhere.");
    }

    /// <summary>The command that rebuilds the page.</summary>
    void Reproduce()
    {
        Section(Part.Reproduce, "Reproduce");
        string args = o.CommandLine.StartsWith("gpuae ", StringComparison.Ordinal) ? o.CommandLine["gpuae ".Length..] : o.CommandLine;
        Paragraph(o.FromRuns is { Count: > 0 }
            ? $"This page was written by `dotnet run --project src/Cli -c Release -- {args}` from finished runs, which the same command " +
              "without `--from-runs` trains (into `runs/` beside this file) before writing the same page: seeds make every run reproducible " +
              "on the same device, and the tests hold a report from finished runs equal to the one that trained them."
            : $"`dotnet run --project src/Cli -c Release -- {args}` rebuilds every number and figure of this page from nothing " +
              "(seeds make runs reproducible on the same device); the runs land in `runs/` beside this file.");
    }
}
