using System.Buffers.Binary;
using System.IO.Compression;
using System.Text.Json;
using GpuAe.Nets.Checkpoints;
using GpuAe.Nets.Model;
using GpuAe.Nets.Report;
using GpuAe.Simd;
using GpuAe.Tests.Nets;

namespace GpuAe.Tests.Report;

/// <summary>The latent explorer page as the tests see it: built here from the committed runs, and read back from its
/// inline JSON with this file's own decoding (gunzip, byte planes to float32), independent of the page's JavaScript.</summary>
public static class ExplorerPage
{
    public const string Open = "<script type=\"application/json\" id=\"explorer-data\">", Close = "</script>";
    /// <summary>The committed runs the page draws, in the order of its planes: the study's 2-D VAE and AE, and the
    /// 2-D conditional VAE (the plane with the class selector).</summary>
    public static readonly string[] Runs = ["vae-2d-seed42", "ae-2d-seed42", "cvae-2d-seed42"];
    public static string RunFolder(string run) => Path.Combine(Repository.Root, "reports", "runs", run);
    public static string Committed => Path.Combine(Repository.Root, "reports", Explorer.FileName);

    /// <summary>The page the code writes from the committed 2-D runs (SIMD backend), built once per test run: each test
    /// image's latent, for the conditional VAE μ of q(z|x, y) with the image's own label.</summary>
    public static string Fresh => FreshPage.Value;
    static readonly Lazy<string> FreshPage = new(() =>
    {
        using var backend = new SimdBackend();
        var test = RealData.Test;
        var planes = Runs.Select(run =>
        {
            var model = Models.Load(backend, Path.Combine(RunFolder(run), Checkpoint.FileName), 500).Model;
            return new ExplorerPlane(run, model, Inference.Encode(backend, model, test.Pixels, test.Count, TestLabels(model)));
        }).ToList();
        return Explorer.Html(backend, test, planes);
    });

    /// <summary>The classes a model encodes the test images with: their labels for a conditional model, none otherwise.</summary>
    public static int[]? TestLabels(IModel model) =>
        model.Kind.IsConditional ? [.. RealData.Test.Labels.Take(RealData.Test.Count).Select(l => (int)l)] : null;

    public sealed record Plane(string Key, string Run, bool Prior, int Condition, float[] Decoder, float[] Codes);
    public sealed record Contents(string Template, string[] Classes, byte[] Labels, int[] Pictures, byte[] PicturePixels, Plane[] Planes);

    /// <summary>The page's data, decoded; Template is the page with the data taken out.</summary>
    public static Contents Read(string html)
    {
        int start = html.IndexOf(Open, StringComparison.Ordinal) + Open.Length, end = html.IndexOf(Close, start, StringComparison.Ordinal);
        if (start < Open.Length || end < 0) throw new InvalidDataException("no explorer-data script in the page");
        using var json = JsonDocument.Parse(html[start..end]);
        var root = json.RootElement;
        var pictures = root.GetProperty("pictures");
        return new Contents(html[..start] + "{{DATA}}" + html[end..],
            [.. root.GetProperty("classes").EnumerateArray().Select(c => c.GetString()!)],
            Gunzip(root.GetProperty("labels").GetString()!),
            [.. pictures.GetProperty("indices").EnumerateArray().Select(i => i.GetInt32())],
            Gunzip(pictures.GetProperty("pixels").GetString()!),
            [.. root.GetProperty("planes").EnumerateArray().Select(p => new Plane(p.GetProperty("key").GetString()!, p.GetProperty("run").GetString()!,
                p.GetProperty("prior").GetBoolean(), p.GetProperty("condition").GetInt32(), Floats(p.GetProperty("decoder").GetString()!), Floats(p.GetProperty("codes").GetString()!)))]);
    }

    static byte[] Gunzip(string base64)
    {
        using var input = new GZipStream(new MemoryStream(Convert.FromBase64String(base64)), CompressionMode.Decompress);
        using var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }

    /// <summary>Byte plane k holds byte k (little-endian) of every float.</summary>
    static float[] Floats(string base64)
    {
        var planes = Gunzip(base64);
        int n = planes.Length / 4;
        var values = new float[n];
        Span<byte> word = stackalloc byte[4];
        for (int i = 0; i < n; i++)
        {
            for (int k = 0; k < 4; k++) word[k] = planes[k * n + i];
            values[i] = BinaryPrimitives.ReadSingleLittleEndian(word);
        }
        return values;
    }

    /// <summary>The run's decoder tensors straight from its checkpoint file, in the order the page's script reads them.</summary>
    public static float[] CheckpointDecoder(string run)
    {
        var tensors = SafeTensors.Read(Path.Combine(RunFolder(run), Checkpoint.FileName)).Tensors;
        return [.. new[] { "decoder.0.weight", "decoder.0.bias", "decoder.2.weight", "decoder.2.bias" }.SelectMany(name => tensors[name].Data)];
    }
}
