using System.Reflection;
using ScottPlot;
using SkiaSharp;

namespace GpuAe.Nets.Report;

/// <summary>
/// DejaVu Sans, embedded in this assembly (Report/Fonts, with its licence) and made ScottPlot's default font, so every
/// figure's text renders the same with or without system fonts. Without it a server with no fonts installed gets
/// figures with no text at all (measured on an H200 server image).
/// </summary>
public static class BundledFont
{
    public const string Name = "DejaVu Sans (GpuAe)";

    static readonly byte[] Regular = Load("GpuAe.Fonts.DejaVuSans.ttf"), Bold = Load("GpuAe.Fonts.DejaVuSans-Bold.ttf");
    static readonly Lazy<bool> Registration = new(() =>
    {
        Fonts.FontResolvers.Insert(0, new Resolver());
        Fonts.Default = Name;
        return true;
    });

    /// <summary>Registers the font with ScottPlot and makes it the default, once; call before creating a plot.</summary>
    public static void Use() => _ = Registration.Value;

    static byte[] Load(string resource)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"the embedded font {resource} is missing from {Assembly.GetExecutingAssembly().GetName().Name}");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>A new typeface for every request, as ScottPlot's own file resolver does (it may dispose what it gets).</summary>
    static SKTypeface Typeface(bool bold) => SKTypeface.FromData(SKData.CreateCopy(bold ? Bold : Regular));

    sealed class Resolver : IFontResolver
    {
        public SKTypeface? CreateTypeface(string fontName, bool bold, bool italic) => fontName == Name ? Typeface(bold) : null;

        public SKTypeface? CreateTypeface(string fontName, FontWeight weight, FontSlant slant, FontSpacing width) =>
            fontName == Name ? Typeface((int)weight >= 600) : null;
    }
}
