/** SVG -> PNG on the server with resvg (no browser, no canvas). Text uses the system's DejaVu Sans. */
import { Resvg } from '@resvg/resvg-js';

/** Render at `scale` × the SVG's own size (2 = crisp on high-density screens and in documents). */
export function svgToPng(svg: string, scale = 2): Buffer {
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
    logLevel: 'off',
  });
  return resvg.render().asPng();
}
