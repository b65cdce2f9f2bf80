using GpuAe.Kernels;

namespace GpuAe.Nets;

/// <summary>A model's weights as a safetensors file with PyTorch's state-dict names and [out, in] layout.</summary>
public static class Checkpoint
{
    public const string FileName = "model.safetensors";

    public static void Save(string path, IBackend backend, IModel model, IReadOnlyDictionary<string, string> extraMetadata)
    {
        var values = new float[model.Parameters.Count];
        backend.Download(model.Parameters.Values, values);
        var tensors = model.Parameters.Entries.Select(p => (p.Name, p.Shape, values.AsSpan(p.Offset, p.Length).ToArray()));
        var metadata = new Dictionary<string, string>(model.Config);
        foreach (var (k, v) in extraMetadata) metadata[k] = v;
        SafeTensors.Write(path, tensors, metadata);
    }

    /// <summary>Loads weights saved by <see cref="Save"/> into a model of the same architecture.</summary>
    public static void LoadWeights(string path, IBackend backend, IModel model)
    {
        var contents = SafeTensors.Read(path);
        if (contents.Metadata.TryGetValue("model", out var kind) && kind != model.Kind)
            throw new UserError($"{path} holds a '{kind}' model, not '{model.Kind}'");
        var values = new float[model.Parameters.Count];
        foreach (var p in model.Parameters.Entries)
        {
            if (!contents.Tensors.TryGetValue(p.Name, out var t))
                throw new UserError($"{path} has no tensor '{p.Name}': it was not written by this model");
            if (!t.Shape.SequenceEqual(p.Shape))
                throw new UserError($"{path}: tensor '{p.Name}' has shape [{string.Join(",", t.Shape)}], the model needs [{string.Join(",", p.Shape)}]");
            t.Data.CopyTo(values, p.Offset);
        }
        backend.Upload(model.Parameters.Values, values);
    }
}
