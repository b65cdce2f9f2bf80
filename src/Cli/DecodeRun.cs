using System.Globalization;
using GpuAe.Kernels;
using GpuAe.Nets;
using GpuAe.Nets.Checkpoints;
using GpuAe.Nets.Data;
using GpuAe.Nets.Model;
using GpuAe.Nets.Report;

namespace GpuAe.Cli;

/// <summary>`gpuae decode`: the image a saved autoencoder's decoder makes of one latent point, through the project's
/// own decoder forward on a backend. Prints the 28 rows of values in [0, 1], or writes an 8-bit grey PNG with --out.
/// The latent explorer's browser test holds the page's JavaScript decoder to it.</summary>
public sealed record DecodeRun(string Path, string Z, string? Class, string? Output, string Device)
{
    public int Execute(TextWriter stdout)
    {
        string checkpoint = Checkpoint.Find(Path);
        using var backend = Backends.Open(Device);
        var (model, _) = Models.Load(backend, checkpoint, batch: 1);
        if (!model.Kind.HasDecoder)
            throw new UserError($"{checkpoint} holds a {model.Kind}, which has no decoder: decode a {string.Join(", ", ModelKind.Names(k => k.HasDecoder))} run");
        if (model.Kind.IsConditional && Class is null)
            throw new UserError($"a {model.Kind} decodes a point for a class: add --class (a name such as Coat, or 0–9)");
        if (!model.Kind.IsConditional && Class is not null)
            throw new UserError($"--class: a {model.Kind} is not conditioned on a class; leave --class out");
        var z = ParseLatent(Z, model.LatentSize);
        var image = Inference.Decode(backend, model, z, 1, Class is null ? null : [FashionMnist.ClassOf(Class)]);
        if (Output is not null)
        {
            GreyPng.Write(Output, image, Figures.Side, Figures.Side);
            stdout.WriteLine($"gpuae: wrote {Output}");
            return 0;
        }
        for (int y = 0; y < Figures.Side; y++)
            stdout.WriteLine(string.Join(" ", Enumerable.Range(0, Figures.Side).Select(x => image[y * Figures.Side + x].ToString("F6", CultureInfo.InvariantCulture))));
        return 0;
    }

    /// <summary>"z1,z2,…": exactly one number per latent dimension.</summary>
    static float[] ParseLatent(string text, int width)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var z = new float[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!float.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out z[i]) || !float.IsFinite(z[i]))
                throw new UserError($"--z: '{parts[i]}' is not a finite number; write the point like \"0.5,-1.2\"");
        if (z.Length != width)
            throw new UserError($"--z gives {z.Length} number(s) but the model's latent has {width} dimensions: give one per dimension, comma-separated");
        return z;
    }
}
