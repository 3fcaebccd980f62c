declare module 'mjml' {
  interface MjmlResult {
    html: string;
    errors: Array<{ formattedMessage: string; message: string }>;
  }
  function mjml2html(
    input: string,
    options?: {
      validationLevel?: 'strict' | 'soft' | 'skip';
      minify?: boolean;
      keepComments?: boolean;
    },
  ): Promise<MjmlResult>;
  export = mjml2html;
}
