using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using GpuAe.Kernels;
using GpuAe.Nets.Data;
using GpuAe.Nets.Model;

namespace GpuAe.Nets.Report;

/// <summary>One plane of the explorer: a dense autoencoder with a 2-D latent, the name of its run folder, and the test
/// set's latents codes[count, 2] (the AE's code, the VAE's μ; for a conditional model, the CVAE, μ of q(z|x, y) of each
/// test image encoded with its own label). The model tells whether the plane is conditional
/// (<see cref="ModelKind.IsConditional"/>).</summary>
public sealed record ExplorerPlane(string Run, IModel Model, float[] Codes);

/// <summary>
/// explorer.html: the study's 2-D latents as one self-contained page (no request leaves it: data, script and style are
/// inline; fonts are the reader's own). Each plane draws every test image at its latent, coloured by class, and
/// decodes the point under the pointer in the page with a JavaScript forward pass of the trained decoder
/// (2→256 ReLU→784 sigmoid; a conditional model's takes [z | one-hot y], 2 + 10→256, and its plane has a class
/// selector) whose float32 weights are inline, exactly the checkpoint's.
///
/// What is embedded, and why (the page must open from disk and stay small; the page test's budget is in ExplorerTests):
/// - each decoder's float32 parameters, exact (the page must match `gpuae decode` to 1/255), in the checkpoint's
///   nn.Linear layout: decoder.0.weight [256, 2] ([256, 2 + 10] for the CVAE: the z columns, then the class columns),
///   decoder.0.bias, decoder.2.weight [784, 256], decoder.2.bias; 202,256 (CVAE 204,816) numbers, about 0.92 MB each
///   in the page;
/// - every test image's 2-D latent (float32; 10,000 points per plane, all drawn) and label;
/// - the pictures of the first <see cref="PicturesPerClass"/> test images of each class (1,000 of 10,000, about
///   0.58 MB): all 10,000 would take about 5.9 MB. Hovering snaps to the nearest point that has a picture.
/// With the study's two 2-D models the page is about 2.65 MB; with the 2-D CVAE as a third plane about 3.68 MB.
/// Float arrays are stored as little-endian float32 split into four byte planes (all first bytes, then all second
/// bytes…; the shuffle filter of HDF5 and Blosc), gzip'ed and base64'ed: the planes of exponents and high mantissa
/// bytes compress where interleaved floats barely do (0.69 MB instead of 0.75 MB of gzip per decoder, 0.81 MB raw).
/// Bytes (labels, pictures) are gzip'ed and base64'ed. The page inflates them with the browser's
/// DecompressionStream('gzip'), which makes no request.
/// </summary>
public static class Explorer
{
    public const string FileName = "explorer.html";
    public const int PicturesPerClass = 100;
    /// <summary>The decoder's tensors in the order the page reads them.</summary>
    public static readonly string[] DecoderTensors = ["decoder.0.weight", "decoder.0.bias", "decoder.2.weight", "decoder.2.bias"];
    const string DataMarker = "{{DATA}}", TemplateResource = "GpuAe.Report.Explorer.html";

    public static void Write(string path, IBackend backend, Dataset test, IReadOnlyList<ExplorerPlane> planes) =>
        AtomicFile.WriteAllText(path, Html(backend, test, planes));

    /// <summary>The page: the template (Explorer.html, embedded in this assembly) with the planes' data inline.</summary>
    public static string Html(IBackend backend, Dataset test, IReadOnlyList<ExplorerPlane> planes)
    {
        var pictures = PictureIndices(test);
        var data = new
        {
            classes = FashionMnist.ClassNames,
            side = Figures.Side,
            labels = Bytes(test.Labels.AsSpan(0, test.Count).ToArray()),
            pictures = new { indices = pictures, pixels = Bytes([.. pictures.SelectMany(i => test.Pixels.AsSpan(i * test.Features, test.Features).ToArray().Select(GreyPng.Byte))]) },
            planes = planes.Select(p =>
            {
                if (p.Model is not AutoencoderBase { Architecture: Architecture.Dense, LatentSize: 2 } model || !model.Kind.Explorable)
                    throw new ArgumentException($"the explorer draws dense autoencoders with a 2-D latent; {p.Run} is a {p.Model.Kind} with a {p.Model.LatentSize}-D latent");
                if (p.Codes.Length != 2 * test.Count) throw new ArgumentException($"{p.Run}: {p.Codes.Length / 2} latents for {test.Count} test images");
                var kind = model.Kind;
                if (model.ConditionWidth != kind.ConditionWidth || (kind.IsConditional && model.ConditionWidth != FashionMnist.ClassNames.Length))
                    throw new ArgumentException($"{p.Run}: a {kind} conditioned on {model.ConditionWidth} classes; the explorer's selector has {FashionMnist.ClassNames.Length}");
                return new
                {
                    key = kind.Name, run = p.Run, label = kind.Label, prior = kind.IsVariational, condition = kind.ConditionWidth,
                    hidden = model.Hidden, features = model.Features,
                    title = kind.IsConditional ? "CVAE, 2-D: μ of q(z|x, y) of each test image"
                        : kind.IsVariational ? "VAE, 2-D: μ of each test image" : "AE, 2-D (linear code): code of each test image",
                    axes = kind.IsVariational ? new[] { "μ₁", "μ₂" } : ["code₁", "code₂"],
                    decoder = Floats(DecoderWeights(backend, model)), codes = Floats(p.Codes),
                };
            }).ToArray(),
        };
        // Relaxed escaping keeps base64's '+' and '/' as they are (the default encoder writes \u002B); nothing in the
        // data contains '<', so it cannot close the <script> that holds it.
        string json = JsonSerializer.Serialize(data, new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        if (json.Contains('<')) throw new InvalidOperationException("the explorer's data would close its <script> element");
        return Template.Replace(DataMarker, json);
    }

    static string Template { get; } = ReadTemplate();

    static string ReadTemplate()
    {
        using var stream = typeof(Explorer).Assembly.GetManifestResourceStream(TemplateResource)
            ?? throw new InvalidOperationException($"resource {TemplateResource} is missing from {typeof(Explorer).Assembly.GetName().Name}");
        string text = new StreamReader(stream, Encoding.UTF8).ReadToEnd();
        if (text.Split(DataMarker).Length != 2) throw new InvalidOperationException($"{TemplateResource} must hold {DataMarker} exactly once");
        return text;
    }

    /// <summary>The decoder's parameters as the page holds them: <see cref="DecoderTensors"/> one after the other, each in
    /// its [out, in] layout (a conditional model's decoder.0.weight with its class columns, [256, 2 + 10]).</summary>
    public static float[] DecoderWeights(IBackend backend, IModel model)
    {
        var values = new float[model.Parameters.Length];
        backend.Download(model.Parameters.Values, values);
        return [.. DecoderTensors.SelectMany(name =>
        {
            var entry = model.Parameters.Entries.SingleOrDefault(e => e.Name == name)
                ?? throw new ArgumentException($"a {model.Kind} has no parameter {name}");
            return values.AsSpan(entry.Offset, entry.Length).ToArray();
        })];
    }

    /// <summary>The test images whose pictures the page holds: the first <see cref="PicturesPerClass"/> of each class,
    /// in test-set order.</summary>
    public static int[] PictureIndices(Dataset test)
    {
        var taken = new int[FashionMnist.ClassNames.Length];
        return [.. Enumerable.Range(0, test.Count).Where(i => taken[test.Labels[i]]++ < PicturesPerClass)];
    }

    /// <summary>float32, little-endian, split into byte planes, gzip'ed, base64.</summary>
    static string Floats(float[] values)
    {
        int n = values.Length;
        var planes = new byte[4 * n];
        Span<byte> word = stackalloc byte[4];
        for (int i = 0; i < n; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(word, values[i]);
            for (int k = 0; k < 4; k++) planes[k * n + i] = word[k];
        }
        return Bytes(planes);
    }

    static string Bytes(byte[] values)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.SmallestSize)) gzip.Write(values);
        return Convert.ToBase64String(buffer.ToArray());
    }
}

/// <summary>8-bit grey images: a value in [0, 1] is round(255·v), ties to even (what a browser's Uint8ClampedArray does,
/// so the explorer page and `gpuae decode --out` round alike).</summary>
public static class GreyPng
{
    public static byte Byte(float v) => (byte)Math.Round(Math.Clamp(v, 0f, 1f) * 255.0, MidpointRounding.ToEven);

    /// <summary>Writes pixels[height, width] in [0, 1] as an 8-bit grey PNG.</summary>
    public static void Write(string path, ReadOnlySpan<float> pixels, int width, int height)
    {
        using var bitmap = new SkiaSharp.SKBitmap(new SkiaSharp.SKImageInfo(width, height, SkiaSharp.SKColorType.Gray8, SkiaSharp.SKAlphaType.Opaque));
        var row = new byte[width];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++) row[x] = Byte(pixels[y * width + x]);
            System.Runtime.InteropServices.Marshal.Copy(row, 0, bitmap.GetPixels() + y * bitmap.RowBytes, width);
        }
        using var data = bitmap.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100);
        AtomicFile.Write(path, (Stream file) => data.SaveTo(file));
    }
}
