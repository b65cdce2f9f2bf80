using GpuAe.Kernels;
using GpuAe.Nets;
using GpuAe.Nets.Checkpoints;
using GpuAe.Nets.Data;
using GpuAe.Nets.Model;
using GpuAe.Nets.Report;

namespace GpuAe.Cli;

/// <summary>`gpuae sample`: images a saved generative model draws from its prior, z ~ N(0, I) (counter generator keyed
/// by --seed), as one labelled grid PNG. A conditional model draws each row for one class: the classes given with
/// --class, or every class, one row each; an unconditional one draws rows of ten. Classes: the --class values, commas split.</summary>
public sealed record SampleRun(string Path, string[] Classes, int Count, ulong Seed, string Output, string Device)
{
    public int Execute(TextWriter stdout)
    {
        if (Count < 1) throw new UserError($"--n must be at least 1 (got {Count})");
        string checkpoint = Checkpoint.Find(Path);
        var contents = SafeTensors.Read(checkpoint);
        var kind = Models.SpecOf(contents.Metadata, checkpoint).Model;
        if (!kind.SamplesPrior)
            throw new UserError($"{checkpoint} holds a {kind.Name}, which has no prior to sample: sample a {string.Join(", ", ModelKind.Names(k => k.SamplesPrior))} run");
        int[] wanted = [.. Classes.Select(FashionMnist.ClassOf)];
        if (wanted.Length > 0 && !kind.IsConditional)
            throw new UserError($"--class: a {kind.Name} is not conditioned on a class; leave --class out (a cvae takes one)");
        if (kind.IsConditional && wanted.Length == 0) wanted = [.. Enumerable.Range(0, FashionMnist.ClassNames.Length)];
        int rows = kind.IsConditional ? wanted.Length : (Count + 9) / 10;
        if (Count % rows != 0)
            throw new UserError($"--n {Count} does not split into {rows} equal rows (one per class): give a multiple of {rows}");
        int columns = Count / rows;

        using var backend = Backends.Open(Device);
        var (model, _) = Models.Load(backend, contents, checkpoint, batch: 128);
        var z = Inference.PriorLatents(Count, model.LatentSize, Seed);
        int[]? classes = kind.IsConditional ? [.. Enumerable.Range(0, Count).Select(i => wanted[i / columns])] : null;
        var pixels = Inference.Decode(backend, model, z, Count, classes);
        var images = Enumerable.Range(0, Count).Select(i => pixels.AsSpan(i * model.Features, model.Features).ToArray()).ToList();
        while (images.Count < rows * columns) images.Add(new float[model.Features]);
        var rowLabels = kind.IsConditional ? wanted.Select(c => FashionMnist.ClassNames[c]).ToArray() : [.. Enumerable.Repeat("", rows)];
        Figures.LabelledGrid(Output, images, rowLabels, null,
            $"{kind.Label}, {model.LatentSize}-D: z ~ N(0, I){(kind.IsConditional ? ", one row per class" : "")} (seed {Seed})");
        stdout.WriteLine($"gpuae: wrote {Output} ({Count} samples of {checkpoint})");
        return 0;
    }
}
