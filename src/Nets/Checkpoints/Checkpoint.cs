using System.Globalization;
using GpuAe.Kernels;
using GpuAe.Nets.Model;

namespace GpuAe.Nets.Checkpoints;

/// <summary>
/// A training checkpoint in the safetensors format: the weights under PyTorch's state-dict names and [out, in]
/// layout (so `load_state_dict` takes them), Adam's moments under `adam.m.` and `adam.v.`, and in `__metadata__`
/// the model's config, the hyper-parameters and the position of the run (epoch, step; the generators are
/// counter-based, so (seed, step, epoch) is their whole state). Written atomically: a crash mid-write leaves the
/// previous checkpoint in place.
/// </summary>
public static class Checkpoint
{
    public const string FileName = "model.safetensors";
    public const string FirstMomentPrefix = "adam.m.", SecondMomentPrefix = "adam.v.";

    public static void Save(string path, IBackend backend, IModel model, IReadOnlyDictionary<string, string> metadata)
    {
        var p = model.Parameters;
        var values = new float[p.Length]; var m = new float[p.Length]; var v = new float[p.Length];
        backend.Download(p.Values, values);
        backend.Download(p.FirstMoment, m);
        backend.Download(p.SecondMoment, v);
        IEnumerable<(string, int[], float[])> Named(string prefix, float[] all) =>
            p.Entries.Select(e => (prefix + e.Name, e.Shape, all.AsSpan(e.Offset, e.Length).ToArray()));
        var header = new Dictionary<string, string>(model.Config);
        foreach (var (k, val) in metadata) header[k] = val;
        SafeTensors.Write(path, Named("", values).Concat(Named(FirstMomentPrefix, m)).Concat(Named(SecondMomentPrefix, v)), header);
    }

    /// <summary>Loads the weights (and Adam's moments when <paramref name="withMoments"/>) of a checkpoint written by
    /// <see cref="Save"/> into a model of the same architecture; returns the checkpoint's metadata.</summary>
    public static IReadOnlyDictionary<string, string> Load(string path, IBackend backend, IModel model, bool withMoments = false) =>
        Load(SafeTensors.Read(path), path, backend, model, withMoments);

    /// <summary>As <see cref="Load(string, IBackend, IModel, bool)"/>, from a checkpoint already read.</summary>
    public static IReadOnlyDictionary<string, string> Load(SafeTensors.Contents contents, string path, IBackend backend, IModel model, bool withMoments = false)
    {
        if (contents.Metadata.TryGetValue("model", out var kind) && kind != model.Kind.Name)
            throw new UserError($"{path} holds a '{kind}' model, not '{model.Kind}'");
        if (withMoments && contents.Metadata.TryGetValue("moments", out var moments) && moments == "stripped")
            throw new UserError($"{path} holds the weights of a finished run without Adam's moments (stripped for the repository, " +
                                "bench/strip-moments.py): it can be evaluated, decoded and sampled, not resumed");
        var p = model.Parameters;
        float[] Gather(string prefix)
        {
            var all = new float[p.Length];
            foreach (var e in p.Entries)
            {
                if (!contents.Tensors.TryGetValue(prefix + e.Name, out var t))
                    throw new UserError($"{path} has no tensor '{prefix + e.Name}': it was not written by this model");
                if (!t.Shape.SequenceEqual(e.Shape))
                    throw new UserError($"{path}: tensor '{prefix + e.Name}' has shape [{string.Join(",", t.Shape)}], the model needs [{string.Join(",", e.Shape)}]");
                t.Data.CopyTo(all, e.Offset);
            }
            return all;
        }
        backend.Upload(p.Values, Gather(""));
        if (withMoments)
        {
            backend.Upload(p.FirstMoment, Gather(FirstMomentPrefix));
            backend.Upload(p.SecondMoment, Gather(SecondMomentPrefix));
        }
        return contents.Metadata;
    }

    /// <summary>The checkpoint a command was pointed at: a model.safetensors file, or the run folder holding one.</summary>
    public static string Find(string runOrFile)
    {
        string path = Directory.Exists(runOrFile) ? Path.Combine(runOrFile, FileName) : runOrFile;
        return File.Exists(path) ? path : throw new UserError($"checkpoint not found: {path}");
    }

    public static string Get(IReadOnlyDictionary<string, string> metadata, string key, string path) =>
        metadata.TryGetValue(key, out var v) ? v : throw new UserError($"{path} lacks '{key}' in its metadata: it was not written by gpuae");

    public static float GetFloat(IReadOnlyDictionary<string, string> metadata, string key, string path) => (float)GetDouble(metadata, key, path);

    public static double GetDouble(IReadOnlyDictionary<string, string> metadata, string key, string path) =>
        double.TryParse(Get(metadata, key, path), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v
            : throw new UserError($"{path}: metadata '{key}' is not a number");

    /// <summary>A whole number from <paramref name="min"/> to <paramref name="max"/>.</summary>
    public static int GetInt(IReadOnlyDictionary<string, string> metadata, string key, string path, int min, int max) =>
        GetLong(metadata, key, path) is var v && v >= min && v <= max ? (int)v
            : throw new UserError($"{path}: metadata '{key}' is {Get(metadata, key, path)}, not a whole number from {min} to {max}");

    public static long GetLong(IReadOnlyDictionary<string, string> metadata, string key, string path) =>
        long.TryParse(Get(metadata, key, path), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v
            : throw new UserError($"{path}: metadata '{key}' is not a number");
}
