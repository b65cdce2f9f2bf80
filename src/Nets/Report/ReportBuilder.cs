using GpuAe.Kernels;
using GpuAe.Nets.Checkpoints;
using GpuAe.Nets.Data;
using GpuAe.Nets.Model;
using GpuAe.Nets.Training;

namespace GpuAe.Nets.Report;

/// <summary>`gpuae report`: trains (or loads) every run of the study, evaluates each on the test set, measures what the
/// figures show on the first seed's runs, then draws the figures and writes metrics.csv, metrics.json and REPORT.md from
/// those measurements.</summary>
public static class ReportBuilder
{
    /// <summary>The stream of the counter generator for the AE's samples (apart from training and evaluation noise, and the
    /// prior's: <see cref="Inference.PriorStream"/>).</summary>
    const ulong FittedStream = 0x4649_5454_0000_0000UL;

    public static void Validate(ReportOptions o)
    {
        if (o.NotebookAeEpochs < 1) throw new UserError($"--notebook-ae-epochs must be at least 1 (got {o.NotebookAeEpochs})");
        if (o.Epochs < 1) throw new UserError($"--epochs must be at least 1 (got {o.Epochs})");
        if (o.SweepEpochs < 1) throw new UserError($"--beta-epochs must be at least 1 (got {o.SweepEpochs})");
        if (o.IwaeK < 1) throw new UserError($"--iwae-k must be at least 1 (got {o.IwaeK})");
        if (o.Seeds < 1) throw new UserError($"--seeds must be at least 1 (got {o.Seeds})");
        if (o.Samples < 2 * Classifier.FeatureWidth)
            throw new UserError($"--samples must be at least {2 * Classifier.FeatureWidth} (got {o.Samples}): the Fréchet distance fits a {Classifier.FeatureWidth}-D covariance to them");
        if (o.ManifoldN < 2) throw new UserError($"--manifold-n must be at least 2 (got {o.ManifoldN})");
        if (!(o.ManifoldLow > 0 && o.ManifoldLow < o.ManifoldHigh && o.ManifoldHigh < 1))
            throw new UserError($"--manifold-p must be two probabilities 0 < low < high < 1 (got {o.ManifoldLow}, {o.ManifoldHigh})");
        foreach (var kind in o.ModelKinds)
            if (ModelKind.Find(kind) is not { InStudy: true })
                throw new UserError($"--models: '{kind}' is not a model of the study: use {string.Join(", ", ModelKind.Names(k => k.InStudy))}");
        if (!o.ModelKinds.Contains(ModelKind.Ae.Name) || !o.ModelKinds.Contains(ModelKind.Vae.Name))
            throw new UserError("--models must include ae and vae (the report compares everything with the notebook's two models)");
        if (o.ModelKinds.Distinct().Count() != o.ModelKinds.Count) throw new UserError("--models lists a model twice");
        foreach (var beta in o.BetaValues)
            if (!(beta > 0 && float.IsFinite(beta))) throw new UserError($"--betas must be positive numbers (got {beta})");
        foreach (var latent in o.LatentSizes)
            if (latent < 1) throw new UserError($"--latents must be positive widths (got {latent})");
        if (!o.LatentSizes.Contains(2))
            throw new UserError("--latents must include 2: the latent figures and the capacity-matched AE need the 2-D runs");
        if (o.LatentSizes.Distinct().Count() != o.LatentSizes.Count) throw new UserError("--latents lists a width twice");
    }

    /// <summary>Every run of the study, seed by seed: the notebook's AE (and the same at the study's budget), each model
    /// at each latent width (AEs with a linear code; a conditional model at 2-D only), then the β sweep of the 2-D VAE
    /// (β = 1 is the 2-D VAE itself).</summary>
    public static IEnumerable<RunKey> Plan(ReportOptions o) =>
        from seed in o.SeedValues
        from key in new[] { ReportOptions.NotebookAe, o.NotebookAeAtBudget }.OfType<ConfigKey>()
                .Select(c => new RunKey(c.Kind, c.Latent, 1f, seed, c.Code, c.Epochs))
            .Concat(o.ModelKinds.SelectMany(kind => (ModelKind.Named(kind).AtEveryWidth ? o.LatentSizes : [2])
                .Select(latent => new RunKey(kind, latent, 1f, seed))))
            .Concat(o.BetaValues.Where(b => b != 1f).Select(b => new RunKey("vae", 2, b, seed)))
        select key;

    /// <summary>Epochs of a run: the notebook AE's budget for it, the sweep's for β ≠ 1, the study's for the rest.</summary>
    public static int EpochsOf(RunKey key, ReportOptions o) =>
        key.Epochs ?? (key.Config == ReportOptions.NotebookAe ? o.NotebookAeEpochs : key.Beta != 1f ? o.SweepEpochs : o.Epochs);

    /// <summary>The study trains every run to its budget: an adversarial game that collapses is recorded epoch by epoch
    /// (metrics.csv's `collapse`) and reported, not stopped, so that every seed has a run to compare (seed 44 of the
    /// committed VAE-GAN collapsed from epoch 35).</summary>
    const int StudyCollapseEpochs = 0;

    /// <summary>Runs the study. A run already in OUT/runs that is the plan's (<see cref="Resumable"/>) is reused when
    /// finished and resumed when not, so an interrupted report goes on where it stopped; <paramref name="cancel"/> stops
    /// the run in training after its step, with its checkpoint written, and throws OperationCanceledException.</summary>
    public static ReportSummary Build(IBackend backend, Dataset train, Dataset test, ReportOptions o, TextWriter log, CancellationToken cancel = default)
    {
        Validate(o);
        string output = TrainingSession.PrepareOutput(o.OutputFolder);
        using var writer = OutputLock.Claim(output);
        var available = FindRuns(o);
        NameStrangers(o, log);
        var testImages = DeviceImages.Upload(backend, test, Classifier.Classes); // the classifier's accuracy needs the labels
        var scorer = LoadScorer(backend, o, train, test, testImages, log);
        var runs = new List<RunResult>();
        var firstSeed = new Dictionary<ConfigKey, FirstSeedRun>();
        foreach (var key in Plan(o))
        {
            cancel.ThrowIfCancellationRequested(); // a signal that came while the last run was scored: stop before the next
            // The first seed's models are kept for the figures; every other run's tensors are freed once it is scored.
            bool keep = key.Seed == o.Seed;
            using var runMemory = keep ? null : backend.Scope();
            var (model, history) = Obtain(backend, key, o, available, train, test, log, cancel);
            log.WriteLine($"gpuae: evaluating {key.Folder} on the test set");
            using var scoringMemory = backend.Scope();
            var (result, recon, latents, generated) = Measure(backend, key, model, history, train, test, testImages, o, scorer);
            runs.Add(result);
            if (keep) firstSeed[key.Config] = new FirstSeedRun(model, result, recon, latents, generated[..(StudyFigures.KeptSamples(model.Kind) * test.Features)]);
        }
        cancel.ThrowIfCancellationRequested(); // every run is finished and kept: the same command writes the report
        var study = new Study(runs);
        Measurements measured;
        using (backend.Scope()) measured = Measurements.Take(backend, firstSeed, test, o);

        log.WriteLine("gpuae: drawing figures");
        StudyFigures.Draw(study, measured, scorer, test, o, output);
        // The interactive page of the 2-D latents (the first seed's runs, as the figures): the VAE, the AE, and a
        // conditional model's, whose latents were encoded with the test labels.
        Explorer.Write(Path.Combine(output, Explorer.FileName), backend, test,
            [.. new[] { new ConfigKey("vae", 2, 1f), new ConfigKey("ae", 2, 1f) }
                .Concat(o.ModelKinds.Select(ModelKind.Named).Where(k => k.IsConditional && k.Explorable).Select(k => new ConfigKey(k.Name, 2, 1f)))
                .Select(c => firstSeed[c]).Select(m => new ExplorerPlane(m.Result.Key.Folder, m.Model, m.Latents))]);
        var files = StudyFigures.Files(o);
        files.AddRange([Explorer.FileName, "metrics.csv", "metrics.json", "REPORT.md"]);
        var summary = new ReportSummary(study, measured, scorer, backend.DeviceName, files, train.Count, test.Count);
        MetricFiles.Write(output, summary);
        var document = ReportText.Write(summary, o);
        AtomicFile.WriteAllText(Path.Combine(output, "REPORT.md"), document.ToMarkdown());
        files.AddRange(Latex.Publish(output, document, summary, o, log, Latex.FindPdflatex(), Latex.UnderCi));
        log.WriteLine($"gpuae: wrote {string.Join(", ", summary.Files)} to {output}");
        log.WriteLine($"gpuae: peak memory held as tensors on {backend.DeviceName}: {backend.PeakAllocatedBytes / (1024.0 * 1024):F0} MiB");
        return summary;
    }

    /// <summary>The committed classifier (--classifier), its test accuracy, the test images' feature Gaussian and the
    /// train-vs-test floor of the Fréchet distance.</summary>
    internal static Scorer LoadScorer(IBackend backend, ReportOptions o, Dataset train, Dataset test, DeviceImages testImages, TextWriter log)
    {
        string path = Path.Combine(o.ClassifierPath, Classifier.ChosenFileName);
        if (!File.Exists(path))
            throw new UserError($"no chosen classifier checkpoint at {path}: the generation scores need it; pass --classifier DIR, or train one with " +
                                $"`gpuae train classifier --epochs 12 --out {o.ClassifierName}`");
        var (loaded, metadata) = Models.Load(backend, path, o.Batch);
        if (loaded is not Classifier classifier)
            throw new UserError($"{path} does not hold a classifier: pass --classifier with the folder of a `gpuae train classifier` run");
        var choice = new ClassifierChoice((int)Checkpoint.GetLong(metadata, "chosen_epoch", path), (int)Checkpoint.GetLong(metadata, "epochs", path),
            Checkpoint.GetDouble(metadata, "validation_loss", path),
            Checkpoint.GetDouble(metadata, "validation_accuracy", path),
            (int)Checkpoint.GetLong(metadata, "validation_images", path));
        log.WriteLine($"gpuae: scoring generated images with the classifier in {o.ClassifierPath}");
        double accuracy = new Evaluator(backend, classifier, testImages, classifier.MaxRows).Run().Accuracy;
        var testFeatures = Inference.Encode(backend, classifier, test.Pixels, test.Count);
        var testGaussian = Gaussian.Fit(testFeatures, test.Count, Classifier.FeatureWidth);
        // The floor at the size of a run's samples: that many training images (the first) against the test set.
        int floorImages = Math.Min(o.Samples, train.Count);
        var trainGaussian = Gaussian.Fit(Inference.Encode(backend, classifier, train.Pixels, floorImages), floorImages, Classifier.FeatureWidth);
        var radii = PrecisionRecall.SquaredRadii(backend, testFeatures, test.Count, Classifier.FeatureWidth);
        return new Scorer(classifier, testFeatures, testGaussian, radii, accuracy, Frechet.Distance(trainGaussian, testGaussian), floorImages, o.ClassifierName, choice);
    }

    /// <summary>Generated images and the test set's reconstructions scored on the classifier; for a conditional model's
    /// samples, also how often the classifier sees the class each asked for. Also returns the mean feature distance of each
    /// test image to its reconstruction.</summary>
    static (GenerationScores Scores, double PerceptualDistance) ScoreGeneration(IBackend backend, Scorer scorer, float[] generated, int count, int[]? asked,
        float[] reconstructions, int testCount)
    {
        var c = scorer.Classifier;
        int width = Classifier.FeatureWidth;
        var sampleFeatures = Inference.Encode(backend, c, generated, count);
        var samples = Gaussian.Fit(sampleFeatures, count, width);
        var reconFeatures = Inference.Encode(backend, c, reconstructions, testCount);
        var recon = Gaussian.Fit(reconFeatures, testCount, width);
        double perceptual = LatentAnalysis.MeanRowDistance(scorer.TestFeatures, reconFeatures, testCount, width);
        var (precision, recall) = PrecisionRecall.Of(backend, scorer.TestFeatures, testCount, scorer.TestRadii, sampleFeatures, count, width);
        var counts = new int[Classifier.Classes];
        var predicted = Inference.PredictFromFeatures(backend, c, sampleFeatures, count);
        foreach (int p in predicted) counts[p]++;
        double[] shares = [.. counts.Select(k => (double)k / count)]; // counted, then divided: a class with every sample is exactly 1
        return (new GenerationScores(Frechet.Distance(samples, scorer.Test), Frechet.Distance(recon, scorer.Test), shares, precision, recall,
            asked is null ? null : ConditionalGeneration.RecognisedByClass(asked, predicted)), perceptual);
    }

    /// <summary>The runs given with --from-runs, by what their checkpoints say they are.</summary>
    static Dictionary<RunKey, string> FindRuns(ReportOptions o)
    {
        var found = new Dictionary<RunKey, string>();
        foreach (var folder in o.FromRuns ?? [])
        {
            string checkpoint = Path.Combine(folder, Checkpoint.FileName);
            if (!File.Exists(checkpoint)) throw new UserError($"--from-runs: no {Checkpoint.FileName} in {folder}");
            found.TryAdd(KeyOf(SafeTensors.Read(checkpoint).Metadata, checkpoint, o), folder);
        }
        return found;
    }

    /// <summary>The run a checkpoint's metadata says it is (the notebook's AE trained for other than its budget is the
    /// same at that budget).</summary>
    internal static RunKey KeyOf(IReadOnlyDictionary<string, string> metadata, string checkpoint, ReportOptions o)
    {
        var spec = Models.SpecOf(metadata, checkpoint);
        var key = new RunKey(spec.Kind, spec.LatentSize, spec.Model.IsVariational ? spec.Beta : 1f, (ulong)Checkpoint.GetLong(metadata, "seed", checkpoint),
            spec.Model.IsVariational ? Activation.None : spec.CodeActivation);
        int epochs = (int)Checkpoint.GetLong(metadata, "epochs", checkpoint);
        return key.Config == ReportOptions.NotebookAe && epochs != o.NotebookAeEpochs ? key with { Epochs = epochs } : key;
    }

    /// <summary>Loads the run from --from-runs when one matches; else reuses or resumes the plan's run already in
    /// OUT/runs/RUN (<see cref="Resumable"/>); else trains it there.</summary>
    static (IModel Model, List<EpochMetrics> History) Obtain(IBackend backend, RunKey key, ReportOptions o, Dictionary<RunKey, string> available,
        Dataset train, Dataset test, TextWriter log, CancellationToken cancel)
    {
        if (available.TryGetValue(key, out var given))
        {
            log.WriteLine($"gpuae: using the {key.Folder} run in {given}");
            return Load(backend, given, o);
        }
        if (available.Count > 0) log.WriteLine($"gpuae: no run among --from-runs is {key.Folder}: training it");
        string folder = Path.Combine(o.OutputFolder, "runs", key.Folder);
        int epochs = EpochsOf(key, o);
        var reporter = new LineReporter(log);
        (IModel Model, List<EpochMetrics> History) run;
        switch (Resumable(folder, key, o, train, test))
        {
            case (true, int done) when done == epochs:
                log.WriteLine($"gpuae: reusing the finished {key.Folder} run in {folder}");
                return Load(backend, folder, o);
            case (true, _):
                run = TrainingSession.Resume(backend, folder, epochs, train, test, reporter, cancel, StudyCollapseEpochs);
                break;
            default:
                run = TrainingSession.Run(backend, key.Spec, new TrainOptions(epochs, o.Batch, 1e-3f, key.Seed, StudyCollapseEpochs), train, test, folder, reporter, cancel);
                break;
        }
        // Stopped by Ctrl-C or SIGTERM: the run's checkpoint says where; the same command resumes it.
        if (run.History.Count < epochs) throw new OperationCanceledException($"the {key.Folder} run was interrupted", cancel);
        return run;
    }

    static (IModel, List<EpochMetrics>) Load(IBackend backend, string folder, ReportOptions o) =>
        (Models.Load(backend, Path.Combine(folder, Checkpoint.FileName), o.Batch).Model, MetricsCsv.Read(Path.Combine(folder, "metrics.csv")));

    /// <summary>Whether OUT/runs/RUN holds the plan's run (its checkpoint names the same model, width, code, β, seed,
    /// batch, learning rate and epochs, on the same training images), and how many epochs it has finished; (false, 0)
    /// when it holds nothing. A checkpoint of another run there is never overwritten: that is a one-line error.</summary>
    static (bool Ours, int Finished) Resumable(string folder, RunKey key, ReportOptions o, Dataset train, Dataset test)
    {
        string path = Path.Combine(folder, Checkpoint.FileName);
        if (!File.Exists(path)) return (false, 0);
        var metadata = SafeTensors.Read(path).Metadata;
        string Other(string what) => throw new UserError($"{folder} holds another run than the study's {key.Folder} ({what}); it is left as it is: " +
                                                         "move it away, or give the report another --out");
        if (KeyOf(metadata, path, o) is var found && found != key) Other($"its checkpoint is {found.Folder}");
        if (Checkpoint.GetLong(metadata, "epochs", path) is var epochs && epochs != EpochsOf(key, o)) Other($"{epochs} epochs, not {EpochsOf(key, o)}");
        if (Checkpoint.GetLong(metadata, "batch", path) is var batch && batch != o.Batch) Other($"batch {batch}, not {o.Batch}");
        if (Checkpoint.GetLong(metadata, "train_images", path) is var images && images != train.Count) Other($"{images} training images, not {train.Count}");
        if (metadata.TryGetValue("train_sha256", out var fingerprint) && fingerprint != train.Fingerprint) Other("other training images");
        if (metadata.TryGetValue("test_sha256", out var scoredOn) && scoredOn != test.Fingerprint) Other("scored on other test images (--test-limit, --data)");
        return (true, (int)Checkpoint.GetLong(metadata, "epoch", path)); // finished epochs (a mid-epoch checkpoint adds next_row)
    }

    /// <summary>Names the folders of OUT/runs that are no run of this plan: they are left alone.</summary>
    static void NameStrangers(ReportOptions o, TextWriter log)
    {
        string runs = Path.Combine(o.OutputFolder, "runs");
        if (!Directory.Exists(runs)) return;
        var planned = Plan(o).Select(k => k.Folder).ToHashSet();
        foreach (var folder in Directory.GetDirectories(runs).Order().Where(f => !planned.Contains(Path.GetFileName(f))))
            log.WriteLine($"gpuae: {folder} is no run of this study's plan; it is left as it is");
    }

    /// <summary>One run measured as the study measures it: its reconstructions, latents and generated images, and every
    /// number of its metrics.csv line. A conditional model is measured on p(x|y): each test image with its own label, each
    /// sample with the class it asks for.</summary>
    internal static (RunResult Result, float[] Recon, float[] Latents, float[] Generated) Measure(IBackend backend, RunKey key, IModel model,
        List<EpochMetrics> history, Dataset train, Dataset test, DeviceImages testImages, ReportOptions o, Scorer scorer)
    {
        int[]? labels = model.Kind.IsConditional ? [.. test.Labels.AsSpan(0, test.Count).ToArray().Select(l => (int)l)] : null;
        int[]? asked = model.Kind.IsConditional ? ConditionalGeneration.AskedClasses(o.Samples) : null;
        var recon = Inference.Reconstruct(backend, model, test.Pixels, test.Count, labels);
        var latents = Inference.Encode(backend, model, test.Pixels, test.Count, labels);
        var generated = Generate(backend, model, train, key.Seed, o.Samples, asked);
        return (Score(key, model, history, recon, latents, generated, asked, backend, testImages, test, o, scorer), recon, latents, generated);
    }

    static RunResult Score(RunKey key, IModel model, List<EpochMetrics> history, float[] recon, float[] latents, float[] generated, int[]? asked,
        IBackend backend, DeviceImages testImages, Dataset test, ReportOptions o, Scorer scorer)
    {
        var evaluator = new Evaluator(backend, model, testImages, model.MaxRows);
        var metrics = evaluator.Run();
        double? iwae = model is VariationalAutoencoder ? evaluator.ImportanceWeightedBound(o.IwaeK) : null;
        int n = test.Count, f = test.Features;
        var perImage = new (double Psnr, double Ssim)[n];
        Parallel.For(0, n, i =>
        {
            var original = test.Pixels.AsSpan(i * f, f);
            var reconstruction = recon.AsSpan(i * f, f);
            perImage[i] = (ImageMetrics.Psnr(original, reconstruction), ImageMetrics.Ssim(original, reconstruction, Figures.Side, Figures.Side));
        });
        double knn = LatentAnalysis.KnnAccuracy(latents, test.Labels, n, model.LatentSize);
        double seconds = history.Count == 0 ? 0 : history.Average(e => e.Seconds);
        double empty = LatentAnalysis.EmptyShare(generated, o.Samples, f), saturated = LatentAnalysis.SaturatedShare(generated, o.Samples, f);
        var (generation, perceptual) = ScoreGeneration(backend, scorer, generated, o.Samples, asked, recon, n);
        int? active = model.Kind.IsVariational ? LatentAnalysis.ActiveUnits(latents, n, model.LatentSize) : null;
        return new RunResult(key, history.Count, seconds, metrics, perImage.Average(p => p.Psnr), perImage.Average(p => p.Ssim), iwae, knn, empty,
            generation, history, saturated, perceptual, active, ImageMetrics.MeanSharpness(generated, o.Samples, Figures.Side, Figures.Side));
    }

    /// <summary>Generated images of a model: a VAE decodes z ~ N(0, I) (a conditional one with the class each sample asks
    /// for); an AE decodes z from the Gaussian fitted to its training codes. Counter-generator noise keyed by the run's seed.</summary>
    static float[] Generate(IBackend backend, IModel model, Dataset train, ulong seed, int count, int[]? asked)
    {
        int d = model.LatentSize;
        float[] z;
        if (model is VariationalAutoencoder)
            z = Inference.PriorLatents(count, d, seed);
        else
            z = LatentAnalysis.FittedGaussianSamples(Inference.Encode(backend, model, train.Pixels, train.Count), train.Count, d, count, seed, FittedStream);
        return Inference.Decode(backend, model, z, count, asked);
    }
}
